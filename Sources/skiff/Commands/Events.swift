import Glibc
import LinuxSys
import Runtime

/// `events`: runc's statistics and OOM events as JSON lines. `--stats` prints one stats event
/// and exits; otherwise a stats event every `--interval` and an `oom` event whenever the OOM
/// killer strikes, until the container stops.
enum EventsCommand {
    static let command = Command(name: "events", usage: "[--stats] [--interval 5s] <container-id>",
                                 summary: "print resource statistics and OOM events as JSON", flags: [
        .bool("stats", help: "print the statistics once and exit"),
        .value("interval", help: "how often to print statistics (a duration: 5s, 500ms, 1m; default 5s)"),
    ]) { p, g in
        let id = try ArgParser.id(p, command: "events")
        var interval = 5.0
        if let v = p.value("interval") {
            guard let d = Clock.parseDuration(v), d > 0 else {
                throw UsageError("--interval: \"\(v)\" is not a positive duration (examples: 5s, 500ms, 1m)")
            }
            interval = d
        }
        if p.bool("stats") {
            print(try Container.statsEvent(id, store: g.store).serialized())
            return 0
        }
        try Container.streamEvents(id, interval: interval, store: g.store) { event in
            print(event.serialized())
            fflush(stdout)
        }
        return 0
    }
}
