import Glibc
import LinuxSys
import OCISpec

/// A container's cgroup, in every mounted hierarchy (each v1 hierarchy and the unified one).
/// Created with cgroupfs (directories); the directories skiff created are remembered so that
/// delete removes them all, parents included, and leaves no empty directory behind.
public struct Cgroup {
    /// The cgroup path relative to each hierarchy's root, e.g. "/docker/abc".
    public let path: String
    /// Every directory this cgroup consists of, one per hierarchy (leaf directories).
    public let dirs: [String]
    /// Directories skiff created (leaves and the parents that did not exist), deepest last.
    public var created: [String]
    public let layout: CgroupLayout

    /// The cgroup path for a container: `linux.cgroupsPath`, or `/<id>` without one.
    public static func path(cgroupsPath: String?, id: String) throws -> String {
        guard let p = cgroupsPath, !p.isEmpty else { return "/" + id }
        if p.contains(":") && !p.hasPrefix("/") {
            throw DecodeError(path: "linux.cgroupsPath", "\(JSON.quoted(p)) looks like a systemd path (slice:prefix:name)",
                              hint: "use the systemd cgroup driver (skiff --systemd-cgroup), or a cgroupfs path such as \"/mygroup/\(id)\"")
        }
        let clean = Files.clean(p)
        if p.split(separator: "/").contains("..") {
            throw DecodeError(path: "linux.cgroupsPath", "\(JSON.quoted(p)) must not contain \"..\"")
        }
        if clean == "/" {
            throw DecodeError(path: "linux.cgroupsPath", "\(JSON.quoted(p)) names the root cgroup", hint: "give the container a cgroup of its own")
        }
        return clean
    }

    public init(path: String, layout: CgroupLayout = .current, created: [String] = []) {
        self.path = path
        self.layout = layout
        var dirs = layout.v1.map { $0.mountPoint + path }
        if let u = layout.unified { dirs.append(u + path) }
        self.dirs = dirs
        self.created = created
    }

    /// The cgroup path of a process (from /proc/PID/cgroup: the unified entry, else the first
    /// v1 hierarchy's), relative to the hierarchy roots as `path` is.
    public static func pathOf(pid: pid_t) -> String? {
        guard let text = Files.readIfPresent("/proc/\(pid)/cgroup") else { return nil }
        var v1: String? = nil
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            if f[0] == "0" && f[1].isEmpty { return String(f[2]) }
            if v1 == nil && !f[1].isEmpty && !f[1].hasPrefix("name=") { v1 = String(f[2]) }
        }
        return v1
    }

    /// The directories `create` would make now (those missing), parents first.
    public func missing() -> [String] {
        var out: [String] = []
        for (n, dir) in dirs.enumerated() {
            let root = n < layout.v1.count ? layout.v1[n].mountPoint : layout.unified!
            var chain: [String] = []
            var d = dir
            while d != root && d.count > root.count && !Files.isDirectory(d) {
                chain.append(d)
                d = Files.dirname(d)
            }
            out += chain.reversed()
        }
        return out
    }

    /// Creates the directories (mkdir -p, remembering what was new). On failure, removes what
    /// it created.
    public mutating func create() throws {
        for (n, dir) in dirs.enumerated() {
            let root = n < layout.v1.count ? layout.v1[n].mountPoint : layout.unified!
            guard CgroupLayout.isCgroupFS(root) else {
                destroy()
                throw SysError("cgroup hierarchy \(q(root)) is not a cgroup filesystem", errno: ENOTDIR)
            }
            var missing: [String] = []
            var d = dir
            while d != root && !Files.isDirectory(d) {
                missing.append(d)
                d = Files.dirname(d)
            }
            for m in missing.reversed() {
                if mkdir(m, 0o755) != 0 && errno != EEXIST {
                    let e = SysError("create cgroup \(q(m))")
                    destroy()
                    throw e
                }
                created.append(m)
            }
        }
    }

    /// Moves a process into this cgroup in every hierarchy (but `except`: the directory it was
    /// forked into).
    public func add(pid: pid_t, except: String? = nil) throws {
        for dir in dirs where dir != except {
            do { try Files.write(dir + "/cgroup.procs", "\(pid)", flags: O_WRONLY) } catch let e as SysError {
                throw SysError("join cgroup \(q(dir))", errno: e.errno)
            }
        }
    }

    /// Every pid in the cgroup (from the first hierarchy that lists any).
    public func pids() -> [pid_t] {
        for dir in dirs {
            guard let text = Files.readIfPresent(dir + "/cgroup.procs") else { continue }
            let p = text.split(separator: "\n").compactMap { pid_t($0) }
            if !p.isEmpty { return p }
        }
        return []
    }

    /// Sends `signal` to every process in the cgroup.
    public func signalAll(_ signal: Int32) {
        for p in pids() { kill(p, signal) }
    }

    /// Removes the directories skiff created, deepest first; waits briefly for exiting processes.
    /// A parent another container still uses (EBUSY, ENOTEMPTY) stays.
    @discardableResult
    public func destroy() -> [String] {
        var failed: [String] = []
        for dir in created.sorted(by: { $0.count > $1.count }) {
            var tries = 0
            // A container with a writable cgroup may have made cgroups of its own (systemd in
            // a container, nested runtimes): they go too, deepest first, once empty.
            if dirs.contains(dir) { Cgroup.removeChildren(dir) }
            while rmdir(dir) != 0 {
                if errno == ENOENT { break }
                let isLeaf = dirs.contains(dir)
                if errno == EBUSY && isLeaf && tries < 200 {
                    tries += 1
                    usleep(5000)
                    continue
                }
                if isLeaf { failed.append(dir) }
                break
            }
        }
        return failed
    }

    /// Removes the cgroups below `dir`, deepest first (a cgroup directory holds only control
    /// files besides its children, and rmdir removes it once no process is left in it).
    static func removeChildren(_ dir: String) {
        for name in Files.list(dir) {
            let child = dir + "/" + name
            guard Files.isDirectory(child) else { continue }
            removeChildren(child)
            var tries = 0
            while rmdir(child) != 0 && errno == EBUSY && tries < 200 {
                tries += 1
                usleep(5000)
            }
        }
    }
}
