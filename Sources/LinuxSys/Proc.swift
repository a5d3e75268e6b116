import Glibc

/// Facts about processes from /proc.
public enum Proc {
    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot). Together with the pid it
    /// identifies a process: a recycled pid has another start time.
    public static func startTime(_ pid: pid_t) -> UInt64? {
        guard let stat = Files.readIfPresent("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state); field 22 is rest[19].
        guard rest.count > 19 else { return nil }
        return UInt64(rest[19])
    }

    /// The state letter (field 3): R, S, D, Z, T...
    public static func state(_ pid: pid_t) -> Character? {
        guard let stat = Files.readIfPresent("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        return rest.first?.first
    }

    /// True when `pid` is alive (not a zombie) and still the process that started at `startTime`.
    public static func isAlive(_ pid: pid_t, startTime: UInt64?) -> Bool {
        guard pid > 0, let st = self.startTime(pid) else { return false }
        if let startTime, st != startTime { return false }
        return state(pid) != "Z"
    }

    /// The children of every thread of `pid` (from /proc/PID/task/*/children).
    public static func children(_ pid: pid_t) -> [pid_t] {
        var out: [pid_t] = []
        for tid in Files.list("/proc/\(pid)/task") {
            guard let text = Files.readIfPresent("/proc/\(pid)/task/\(tid)/children") else { continue }
            out += text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: " \n")) }
        }
        return out
    }
}

extension StringProtocol {
    public func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
