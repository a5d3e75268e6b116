import Runtime

enum DeleteCommand {
    static let command = Command(name: "delete", usage: "[--force] <container-id>",
                                 summary: "delete a container: processes, cgroup and state", flags: [
        .bool("force", "f", help: "kill the container first if it is running"),
    ]) { p, g in
        try Container.delete(try ArgParser.id(p, command: "delete"), force: p.bool("force"), store: g.store)
        return 0
    }
}
