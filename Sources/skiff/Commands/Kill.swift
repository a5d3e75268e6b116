import Glibc
import LinuxSys
import Runtime

enum KillCommand {
    static let command = Command(name: "kill", usage: "[--all] <container-id> [signal]",
                                 summary: "send a signal (default SIGTERM) to a container", flags: [
        .bool("all", "a", help: "send the signal to every process of the container"),
    ]) { p, g in
        let id = try ArgParser.id(p, command: "kill", extra: 1)
        var signal = SIGTERM
        if p.positional.count > 1 {
            guard let s = Signals.parse(p.positional[1]) else {
                throw UsageError("unknown signal \"\(p.positional[1])\" (use a name such as KILL or SIGTERM, or a number)")
            }
            signal = s
        }
        try Container.kill(id, signal: signal, all: p.bool("all"), store: g.store)
        return 0
    }
}
