import Glibc
import LinuxSys

/// Where one cgroup's controller files are: each controller bound to a mounted v1 hierarchy
/// has its own directory there; the others live in the unified (v2) directory when the
/// parent enabled them. Built from a `Cgroup`, or by hand in unit tests.
public struct ControllerDirs {
    /// controller name -> the cgroup's directory in that controller's v1 hierarchy.
    public var v1: [String: String]
    /// The cgroup's directory in the unified hierarchy, if cgroup2 is mounted.
    public var unified: String?
    /// Controllers available in the unified directory (its cgroup.controllers).
    public var v2Controllers: Set<String>

    public init(v1: [String: String] = [:], unified: String? = nil, v2Controllers: Set<String> = []) {
        self.v1 = v1
        self.unified = unified
        self.v2Controllers = v2Controllers
    }

    public init(_ cg: Cgroup) {
        var v1: [String: String] = [:]
        for h in cg.layout.v1 {
            for c in h.controllers { v1[c] = h.mountPoint + cg.path }
        }
        // cpuacct statistics live with cpu when both share a hierarchy ("cpu,cpuacct").
        self.v1 = v1
        unified = cg.layout.unified.map { $0 + cg.path }
        v2Controllers = []
        if let u = unified {
            let text = Files.readIfPresent(u + "/cgroup.controllers")
                ?? Files.readIfPresent(Files.dirname(u) + "/cgroup.subtree_control") ?? ""
            v2Controllers = Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
    }

    /// The directory holding `controller`'s files, and whether it is a v1 hierarchy.
    public func dir(_ controller: String) -> (path: String, v1: Bool)? {
        if let d = v1[controller] { return (d, true) }
        if let u = unified, v2Controllers.contains(controller) { return (u, false) }
        return nil
    }
}

extension Cgroup {
    /// cgroup v2 only lets a cgroup use the controllers its parent enabled in
    /// cgroup.subtree_control: enable, from the root down to the container's parent, every
    /// controller each level offers (as runc does). A controller the kernel refuses at some
    /// level (a parent with processes of its own, a threaded subtree) stays off below it.
    public func enableV2Controllers() {
        guard let root = layout.unified else { return }
        var levels: [String] = []
        var d = Files.dirname(root + path)
        while d.count >= root.count {
            levels.append(d)
            if d == root { break }
            d = Files.dirname(d)
        }
        for dir in levels.reversed() {
            let offered = (Files.readIfPresent(dir + "/cgroup.controllers") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" })
            let enabled = Set((Files.readIfPresent(dir + "/cgroup.subtree_control") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }))
            for c in offered where !enabled.contains(c) {
                try? Files.write(dir + "/cgroup.subtree_control", "+" + c, flags: O_WRONLY)
            }
        }
    }
}
