import OCISpec
import Runtime

enum ListCommand {
    static let command = Command(name: "list", usage: "[options]", summary: "list the containers", flags: [
        .value("format", "f", help: "table or json"),
        .bool("quiet", "q", help: "print only the ids"),
    ]) { p, g in
        if !p.positional.isEmpty { throw UsageError("`skiff list` takes no arguments, got \(p.positional.joined(separator: " "))") }
        let format = p.value("format") ?? "table"
        guard format == "table" || format == "json" else { throw UsageError("--format must be table or json, not \"\(format)\"") }
        let store = g.store
        let ids = store.ids()
        if p.bool("quiet") {
            for id in ids { print(id) }
            return 0
        }
        let states = ids.compactMap { try? store.load($0) }
        if format == "json" {
            print(JSON.array(states.map { $0.specState() }).serialized())
            return 0
        }
        var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        for s in states {
            let st = s.status
            rows.append([s.id, st == .stopped ? "0" : String(s.pid), st.rawValue, s.bundle, s.created, s.owner])
        }
        var widths = [Int](repeating: 0, count: 6)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        for r in rows {
            var line = ""
            for (i, c) in r.enumerated() { line += i == r.count - 1 ? c : c.padding(widths[i] + 2) }
            print(line)
        }
        return 0
    }
}
