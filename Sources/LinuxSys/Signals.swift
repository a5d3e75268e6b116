import CSkiff
import Glibc

/// Signal names and numbers, as `kill` accepts them: "KILL", "SIGKILL", "9", "sigkill".
public enum Signals {
    public static let names: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("IOT", SIGIOT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL),
        ("USR1", SIGUSR1), ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM),
        ("TERM", SIGTERM), ("STKFLT", SIGSTKFLT), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP),
        ("TSTP", SIGTSTP), ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU),
        ("XFSZ", SIGXFSZ), ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO),
        ("POLL", SIGPOLL), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    public static func parse(_ text: String) -> Int32? {
        if let n = Int32(text) { return n > 0 && n < 65 ? n : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if name.hasPrefix("RTMIN") || name.hasPrefix("RTMAX") {
            let base = name.hasPrefix("RTMIN") ? Int32(34) : Int32(64)
            let rest = name.dropFirst(5)
            if rest.isEmpty { return base }
            guard let off = Int32(rest), (name.hasPrefix("RTMIN") ? off > 0 : off < 0) else { return nil }
            let n = base + off
            return n >= 34 && n <= 64 ? n : nil
        }
        return names.first { $0.0 == name }?.1
    }

    /// Before execve of a container process or a hook: default dispositions and an empty mask.
    /// skiff ignores SIGPIPE, and an ignored signal stays ignored across exec.
    public static func resetForExec() { skiff_reset_signals() }

    public static func name(_ sig: Int32) -> String {
        names.first { $0.1 == sig }.map { "SIG" + $0.0 } ?? "signal \(sig)"
    }
}
