import Glibc

/// Fault points for the crash tests (Tests/integration/crash.bats): in a build made with
/// `-Xswiftc -DSKIFF_FAULTS`, `SKIFF_FAULT=<point>` makes the process that reaches that point
/// kill itself with SIGKILL, as an OOM killer or a power cut would. The release binary has no
/// fault points: `point` is empty there.
public enum Fault {
    #if SKIFF_FAULTS
    nonisolated(unsafe) static var armed: [UInt8]? = {
        guard let v = getenv("SKIFF_FAULT") else { return nil }
        return Array(String(cString: v).utf8)
    }()
    #endif

    /// Dies here if this point is the armed one. Safe in a forked child (no allocation once
    /// `prepare` ran).
    @inline(__always)
    public static func point(_ name: StaticString) {
        #if SKIFF_FAULTS
        guard let want = armed, want.count == name.utf8CodeUnitCount else { return }
        let p = name.utf8Start
        for i in 0..<want.count where want[i] != p[i] { return }
        // kill(2), not raise(3): after a raw clone glibc's cached thread id is the parent's.
        // pid 1 of a pid namespace cannot SIGKILL itself (the kernel ignores it): it exits.
        if getpid() == 1 { _exit(137) }
        kill(getpid(), SIGKILL)
        #endif
    }

    /// Reads SKIFF_FAULT before any fork, so children need not call getenv.
    public static func prepare() {
        #if SKIFF_FAULTS
        _ = armed
        #endif
    }
}
