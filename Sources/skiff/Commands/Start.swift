import Runtime

enum StartCommand {
    static let command = Command(name: "start", usage: "<container-id>",
                                 summary: "run the program of a created container", flags: []) { p, g in
        try Container.start(try ArgParser.id(p, command: "start"), store: g.store)
        return 0
    }
}
