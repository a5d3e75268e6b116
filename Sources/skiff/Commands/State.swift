import Runtime

enum StateCommand {
    static let command = Command(name: "state", usage: "<container-id>",
                                 summary: "print the state of a container as JSON", flags: []) { p, g in
        let state = try g.store.load(try ArgParser.id(p, command: "state"))
        print(state.specState().serialized(indent: 2))
        return 0
    }
}
