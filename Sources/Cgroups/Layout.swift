import CSkiff
import Glibc
import LinuxSys

/// Where the cgroup hierarchies are mounted on this host: pure v1, pure v2, or hybrid (v1
/// controllers plus cgroup2 at /sys/fs/cgroup/unified, as on Debian 12 without systemd).
/// Read from /proc/self/mountinfo, so a controller that is active but not mounted here (a
/// hierarchy another mount namespace created) is simply absent, and never gets a directory.
public struct CgroupLayout {
    /// One mounted v1 hierarchy: its mount point and the controllers (or `name=...`) bound to it.
    public struct Hierarchy {
        public let mountPoint: String
        public let controllers: [String]
    }

    public var v1: [Hierarchy] = []
    public var unified: String?

    public var mode: String {
        if v1.isEmpty { return unified == nil ? "none" : "v2" }
        return unified == nil ? "v1" : "hybrid"
    }

    public static let cgroupMagic: Int = 0x0027_e0eb
    public static let cgroup2Magic: Int = 0x6367_7270

    /// This host's layout, read once per skiff invocation (`state` and `list` ask per container).
    public static let current = detect()

    public static func detect(mountinfo: String? = Files.readIfPresent("/proc/self/mountinfo")) -> CgroupLayout {
        // id parent major:minor root mountpoint options [optional fields] - fstype source superopts
        struct Entry { let id: Substring; let parent: Substring; let mountPoint: String; let fstype: Substring; let superOptions: Substring }
        var entries: [Entry] = []
        for line in (mountinfo ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { continue }
            let pre = fields[..<dash]
            let post = Array(fields[(dash + 1)...])
            guard pre.count >= 5, post.count >= 3 else { continue }
            let s = pre.startIndex
            entries.append(Entry(id: pre[s], parent: pre[s + 1], mountPoint: unescape(String(pre[s + 4])), fstype: post[0], superOptions: post[2]))
        }
        let byID = Dictionary(entries.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
        var children: [Substring: [Entry]] = [:]
        for e in entries { children[e.parent, default: []].append(e) }
        // A mount can be hidden by another one mounted later over its mount point or a directory
        // above it (e.g. a tmpfs on /sys/fs/cgroup over the host's hierarchies): mountinfo still
        // lists it. Only the mount that path resolution reaches counts: from the top of its
        // mount tree, at each directory of its mount point, go up the stack mounted there.
        func covered(_ e: Entry) -> Bool {
            var top = e
            var seen: Set<Substring> = [e.id]
            while let p = byID[top.parent], seen.insert(p.id).inserted { top = p }
            guard isAtOrAbove(top.mountPoint, e.mountPoint) else { return false }
            var current = top
            var steps = 0
            func climb(_ dir: String) {
                while steps <= entries.count, let next = children[current.id]?.last(where: { $0.mountPoint == dir && $0.id != current.id }) {
                    current = next
                    steps += 1
                }
            }
            climb(top.mountPoint)
            var dir = top.mountPoint
            for name in e.mountPoint.dropFirst(top.mountPoint.count).split(separator: "/") {
                dir = (dir == "/" ? "" : dir) + "/" + name
                climb(dir)
            }
            return current.id != e.id
        }
        var layout = CgroupLayout()
        for e in entries where e.fstype == "cgroup2" || e.fstype == "cgroup" {
            if covered(e) { continue }
            if e.fstype == "cgroup2" {
                if layout.unified == nil { layout.unified = e.mountPoint }
                continue
            }
            let ctrls = e.superOptions.split(separator: ",").map(String.init).filter { !CgroupLayout.mountOptions.contains($0) && !$0.hasPrefix("release_agent=") }
            if !layout.v1.contains(where: { $0.controllers == ctrls }) {
                layout.v1.append(Hierarchy(mountPoint: e.mountPoint, controllers: ctrls))
            }
        }
        return layout
    }

    /// True if `dir` is `path` or one of the directories above it.
    static func isAtOrAbove(_ dir: String, _ path: String) -> Bool {
        if dir == path || dir == "/" { return true }
        return path.hasPrefix(dir) && path.utf8.dropFirst(dir.utf8.count).first == UInt8(ascii: "/")
    }

    /// Super-block options of a v1 cgroup mount that are not controller names.
    static let mountOptions: Set<String> = ["rw", "ro", "clone_children", "noprefix", "xattr", "nsdelegate", "cpuset_v2_mode", "favordynmods", "memory_localevents", "memory_recursiveprot"]

    /// Mountinfo escapes space, tab, newline and backslash as octal.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else { out.append(b[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The mount point of the v1 hierarchy that carries `controller`, if mounted.
    public func v1MountPoint(_ controller: String) -> String? {
        v1.first { $0.controllers.contains(controller) }?.mountPoint
    }

    /// True if `path` is on a cgroup or cgroup2 filesystem: skiff never creates directories in
    /// the tmpfs that holds the v1 mount points.
    public static func isCgroupFS(_ path: String) -> Bool {
        let magic = skiff_fs_magic(path)
        return magic == cgroupMagic || magic == cgroup2Magic
    }
}
