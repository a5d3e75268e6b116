import Glibc

/// Facts about processes from /proc.
public enum Proc {
    /// Field 3 (the state letter) and field 22 (start time in clock ticks since boot) of
    /// /proc/PID/stat, read once and parsed as bytes (Character splitting was 0.2 M
    /// instructions of `state`). The command name (field 2) may contain spaces and
    /// parentheses: fields are counted after the last ')'.
    static func stat(_ pid: pid_t) -> (state: UInt8, startTime: UInt64)? {
        guard let text = Files.readIfPresent("/proc/\(pid)/stat") else { return nil }
        var bytes = Array(text.utf8)
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        bytes.append(0x20)
        var field = 2, i = close + 1, state: UInt8 = 0
        var start = -1
        while i < bytes.count {
            if bytes[i] == 0x20 {
                if start >= 0 {
                    field += 1
                    if field == 3 { state = bytes[start] }
                    if field == 22 {
                        var v: UInt64 = 0
                        for b in bytes[start..<i] {
                            guard b >= 0x30 && b <= 0x39 else { return nil }
                            v = v &* 10 &+ UInt64(b - 0x30)
                        }
                        return (state, v)
                    }
                    start = -1
                }
            } else if start < 0 {
                start = i
            }
            i += 1
        }
        return nil
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot). Together with the pid it
    /// identifies a process: a recycled pid has another start time.
    public static func startTime(_ pid: pid_t) -> UInt64? { stat(pid)?.startTime }

    /// The state letter (field 3): R, S, D, Z, T...
    public static func state(_ pid: pid_t) -> Character? {
        guard let s = stat(pid)?.state else { return nil }
        return Character(Unicode.Scalar(s))
    }

    /// True when `pid` is alive (not a zombie) and still the process that started at `startTime`.
    public static func isAlive(_ pid: pid_t, startTime: UInt64?) -> Bool {
        guard pid > 0, let st = stat(pid) else { return false }
        if let startTime, st.startTime != startTime { return false }
        return st.state != UInt8(ascii: "Z")
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
