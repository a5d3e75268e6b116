import Glibc
import LinuxSys

/// Pausing a container: the v1 freezer (`freezer.state`) or v2's `cgroup.freeze`.
extension Cgroup {
    var freezerV1: String? { layout.v1MountPoint("freezer").map { $0 + path } }
    public var unifiedDir: String? { layout.unified.map { $0 + path } }

    /// True when the cgroup is frozen (or freezing).
    public var isFrozen: Bool {
        if let d = freezerV1 {
            let s = Files.readIfPresent(d + "/freezer.state") ?? ""
            return s.hasPrefix("FROZEN") || s.hasPrefix("FREEZING")
        }
        if let d = unifiedDir { return (Files.readIfPresent(d + "/cgroup.freeze") ?? "").hasPrefix("1") }
        return false
    }

    /// Freezes (true) or thaws (false) every process of the cgroup and waits until the kernel
    /// says it is done.
    public func setFrozen(_ frozen: Bool) throws {
        if let d = freezerV1 {
            let want = frozen ? "FROZEN" : "THAWED"
            for attempt in 0..<1000 {
                try Files.write(d + "/freezer.state", want, flags: O_WRONLY)
                if (Files.readIfPresent(d + "/freezer.state") ?? "").hasPrefix(want) { return }
                usleep(attempt < 10 ? 100 : 1000)
            }
            throw SysError("\(frozen ? "freeze" : "thaw") \(q(d)): still not \(want) after 1 s", errno: EBUSY)
        }
        if let d = unifiedDir, Files.exists(d + "/cgroup.freeze") {
            try Files.write(d + "/cgroup.freeze", frozen ? "1" : "0", flags: O_WRONLY)
            for _ in 0..<1000 {
                let events = Files.readIfPresent(d + "/cgroup.events") ?? ""
                if events.contains(frozen ? "frozen 1" : "frozen 0") { return }
                usleep(1000)
            }
            throw SysError("\(frozen ? "freeze" : "thaw") \(q(d)): cgroup.events does not confirm it", errno: EBUSY)
        }
        throw SysError("no freezer: neither the v1 freezer controller nor cgroup.freeze is available", errno: ENOTSUP)
    }
}
