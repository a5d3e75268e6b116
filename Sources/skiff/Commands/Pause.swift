import Runtime

enum PauseCommand {
    static let pause = Command(name: "pause", usage: "<container-id>", summary: "freeze every process of a container", flags: []) { p, g in
        try Container.setPaused(try ArgParser.id(p, command: "pause"), true, store: g.store)
        return 0
    }
    static let resume = Command(name: "resume", usage: "<container-id>", summary: "thaw a paused container", flags: []) { p, g in
        try Container.setPaused(try ArgParser.id(p, command: "resume"), false, store: g.store)
        return 0
    }
}
