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
        // Split as UTF-8 bytes: splitting by Characters cost 1.3 M instructions, most of
        // `state` for a running container.
        struct Entry { let id: Int; let parent: Int; let mountPoint: String; let isV2: Bool; let isCgroup: Bool; let superOptions: ArraySlice<UInt8> }
        func number(_ b: ArraySlice<UInt8>) -> Int { b.reduce(0) { $0 &* 10 &+ Int($1) &- 48 } }
        var entries: [Entry] = []
        let bytes = Array((mountinfo ?? "").utf8)
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20)
            guard let dash = fields.firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }) else { continue }
            guard dash >= 5, fields.count - dash - 1 >= 3 else { continue }
            let fstype = fields[dash + 1]
            let isV2 = fstype.elementsEqual("cgroup2".utf8), isV1 = fstype.elementsEqual("cgroup".utf8)
            entries.append(Entry(id: number(fields[0]), parent: number(fields[1]),
                                 mountPoint: unescape(String(decoding: fields[4], as: UTF8.self)),
                                 isV2: isV2, isCgroup: isV1 || isV2, superOptions: fields[dash + 3]))
        }
        var byID: [Int: Int] = [:]
        var children: [Int: [Int]] = [:]
        for (i, e) in entries.enumerated() {
            byID[e.id] = i
            children[e.parent, default: []].append(i)
        }
        // A mount can be hidden by another one mounted later over its mount point or a directory
        // above it (e.g. a tmpfs on /sys/fs/cgroup over the host's hierarchies): mountinfo still
        // lists it. Only the mount that path resolution reaches counts: from the top of its
        // mount tree, at each directory of its mount point, go up the stack mounted there.
        func covered(_ index: Int) -> Bool {
            let e = entries[index]
            var top = index
            var seen: Set<Int> = [e.id]
            while let p = byID[entries[top].parent], seen.insert(entries[p].id).inserted { top = p }
            guard isAtOrAbove(entries[top].mountPoint, e.mountPoint) else { return false }
            var current = top
            var steps = 0
            func climb(_ dir: String) {
                while steps <= entries.count,
                      let next = children[entries[current].id]?.last(where: { entries[$0].mountPoint == dir && $0 != current }) {
                    current = next
                    steps += 1
                }
            }
            climb(entries[top].mountPoint)
            var dir = entries[top].mountPoint
            for name in e.mountPoint.dropFirst(entries[top].mountPoint.count).split(separator: "/") {
                dir = (dir == "/" ? "" : dir) + "/" + name
                climb(dir)
            }
            return current != index
        }
        var layout = CgroupLayout()
        for (i, e) in entries.enumerated() where e.isCgroup {
            if covered(i) { continue }
            if e.isV2 {
                if layout.unified == nil { layout.unified = e.mountPoint }
                continue
            }
            let ctrls = e.superOptions.split(separator: UInt8(ascii: ",")).map { String(decoding: $0, as: UTF8.self) }
                .filter { !CgroupLayout.mountOptions.contains($0) && !$0.hasPrefix("release_agent=") }
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
