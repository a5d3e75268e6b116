import LinuxSys
import OCISpec
import Runtime

/// `update`: runc's flags, or a LinuxResources JSON document (`--resources FILE`, `-` for
/// stdin, as docker and containerd send it). Flags given with a file override its values.
enum UpdateCommand {
    static let command = Command(name: "update", usage: "[options] <container-id>",
                                 summary: "change the resource limits of a running container", flags: [
        .value("resources", "r", help: "a LinuxResources JSON file, or - for stdin"),
        .value("memory", help: "memory limit (bytes, or with a unit: 32m, 1g; -1 for none)"),
        .value("memory-reservation", help: "memory soft limit"),
        .value("memory-swap", help: "memory plus swap limit (-1 for none)"),
        .value("kernel-memory", help: "refused: kernel memory limits are obsolete"),
        .value("kernel-memory-tcp", help: "TCP buffer memory limit (cgroup v1)"),
        .value("cpu-shares", "cpu-share", help: "relative CPU weight"),
        .value("cpu-period", help: "CFS period in microseconds"),
        .value("cpu-quota", help: "CFS quota in microseconds per period (-1 for none)"),
        .value("cpu-burst", help: "CFS burst in microseconds"),
        .value("cpu-rt-period", help: "real-time period in microseconds (cgroup v1)"),
        .value("cpu-rt-runtime", help: "real-time runtime in microseconds (cgroup v1)"),
        .value("cpu-idle", help: "1 to make the cgroup SCHED_IDLE"),
        .value("cpuset-cpus", help: "CPUs the container may use (0-3,7)"),
        .value("cpuset-mems", help: "memory nodes the container may use"),
        .value("pids-limit", help: "maximum number of processes (-1 for none)"),
        .value("blkio-weight", help: "block I/O weight (10 to 1000)"),
        .value("l3-cache-schema", help: "refused: Intel RDT is not supported"),
        .value("mem-bw-schema", help: "refused: Intel RDT is not supported"),
    ]) { p, g in
        let id = try ArgParser.id(p, command: "update")
        var r = Resources()
        if let file = p.value("resources") {
            let text: String
            do { text = file == "-" ? String(decoding: try Files.readAll(fd: 0), as: UTF8.self) : try Files.read(file) } catch {
                throw UsageError("--resources: cannot read \(file == "-" ? "stdin" : file): \(error)")
            }
            do { r = try Resources.parse(text) } catch {
                throw UsageError("--resources \(file == "-" ? "(stdin)" : file): \(error)")
            }
        }
        for flag in ["kernel-memory", "l3-cache-schema", "mem-bw-schema"] where p.value(flag) != nil {
            throw UsageError("--\(flag) is not supported by skiff\(flag == "kernel-memory" ? " (kernel memory limits were removed from Linux; runc ignores them)" : " yet (Intel RDT)")")
        }
        func bytes(_ flag: String) throws -> Int64? {
            guard let v = p.value(flag) else { return nil }
            guard let n = parseBytes(v) else { throw UsageError("--\(flag): \"\(v)\" is not a size (examples: 1048576, 32m, 1g, -1)") }
            return n
        }
        func int<T: FixedWidthInteger>(_ flag: String, _: T.Type) throws -> T? {
            guard let v = p.value(flag) else { return nil }
            guard let n = T(v) else { throw UsageError("--\(flag): \"\(v)\" is not a valid number") }
            return n
        }
        var m = r.memory ?? MemoryResources()
        if let v = try bytes("memory") { m.limit = v }
        if let v = try bytes("memory-reservation") { m.reservation = v }
        if let v = try bytes("memory-swap") { m.swap = v }
        if let v = try bytes("kernel-memory-tcp") { m.kernelTCP = v }
        r.memory = m
        var c = r.cpu ?? CPUResources()
        if let v = try int("cpu-shares", UInt64.self) { c.shares = v }
        if let v = try int("cpu-period", UInt64.self) { c.period = v }
        if let v = try int("cpu-quota", Int64.self) { c.quota = v }
        if let v = try int("cpu-burst", UInt64.self) { c.burst = v }
        if let v = try int("cpu-rt-period", UInt64.self) { c.realtimePeriod = v }
        if let v = try int("cpu-rt-runtime", Int64.self) { c.realtimeRuntime = v }
        if let v = try int("cpu-idle", Int64.self) { c.idle = v }
        if let v = p.value("cpuset-cpus") { c.cpus = v }
        if let v = p.value("cpuset-mems") { c.mems = v }
        r.cpu = c
        if let v = try int("pids-limit", Int64.self) { r.pids = PidsResources(limit: v) }
        if let v = try int("blkio-weight", UInt16.self) {
            var b = r.blockIO ?? BlockIO()
            b.weight = v
            r.blockIO = b
        }
        try Container.update(id, r, store: g.store)
        return 0
    }

    /// "1048576", "32m", "32MB", "1.5g", "2GiB", "-1": bytes, with binary units as runc's
    /// (docker's units.RAMInBytes) parser takes them.
    static func parseBytes(_ text: String) -> Int64? {
        if text == "-1" { return -1 }
        let lower = Array(text.lowercased())
        var i = 0
        while i < lower.count, lower[i].isNumber || lower[i] == "." { i += 1 }
        guard i > 0, let number = Double(String(lower[..<i])), number >= 0 else { return nil }
        var unit = String(lower[i...])
        if unit.hasSuffix("b") { unit.removeLast() }
        if unit.hasSuffix("i") { unit.removeLast() }
        let scale: Double
        switch unit {
        case "": scale = 1
        case "k": scale = 1024
        case "m": scale = 1024 * 1024
        case "g": scale = 1024 * 1024 * 1024
        case "t": scale = 1024 * 1024 * 1024 * 1024
        case "p": scale = 1024 * 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let v = number * scale
        guard v < 9.2e18 else { return nil }
        return Int64(v)
    }
}
