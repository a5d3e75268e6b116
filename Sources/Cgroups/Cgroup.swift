import CSkiff
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

    /// The lines of /proc/PID/cgroup as (controllers, path): "" for the unified hierarchy,
    /// "cpu,cpuacct" or "name=systemd" for a v1 one. Nil when the process is gone.
    public static func membership(pid: pid_t) -> [(controllers: Substring, path: String)]? {
        guard let text = Files.readIfPresent("/proc/\(pid)/cgroup") else { return nil }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            return f.count == 3 ? (f[1], String(f[2])) : nil
        }
    }

    /// The cgroup path of a process: the unified entry, else the first v1 hierarchy's (relative
    /// to the hierarchy roots, as `path` is).
    public static func pathOf(pid: pid_t) -> String? {
        guard let lines = membership(pid: pid) else { return nil }
        return lines.first { $0.controllers.isEmpty }?.path
            ?? lines.first { !$0.controllers.hasPrefix("name=") }?.path
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

    /// Opens what a forked child needs to join this cgroup without the kernel's global lock
    /// (see `Joiner`). Throws the error `add(pid:)` would have thrown for a missing directory.
    public func joiner() throws -> Joiner {
        var j = Joiner()
        do {
            for (n, dir) in dirs.enumerated() {
                if n < layout.v1.count {
                    let fd = open(dir + "/tasks", O_WRONLY | O_CLOEXEC)
                    if fd < 0 { throw SysError("join cgroup \(q(dir))") }
                    j.tasks.append((dir, fd))
                } else {
                    j.unifiedDir = dir
                    j.unifiedFD = open(dir, SKIFF_O_PATH | O_DIRECTORY | O_CLOEXEC)
                    if j.unifiedFD < 0 { throw SysError("join cgroup \(q(dir))") }
                }
            }
        } catch {
            j.close()
            throw error
        }
        return j
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

/// Joining a cgroup from a forked, single-threaded child, without the kernel's global lock.
///
/// Writing a pid to `cgroup.procs` write-locks cgroup_threadgroup_rwsem, which waits for an
/// RCU grace period whenever no other writer ran just before: 7 to 17 ms per container on
/// this kernel, more than the rest of `create`. Two ways around it give the same result for a
/// process with one thread:
/// * cgroup v2: the child is forked straight into the directory (clone3 CLONE_INTO_CGROUP,
///   Linux 5.7), which only read-locks it;
/// * cgroup v1: the child writes "0" to each hierarchy's `tasks` file: moving the calling
///   thread itself takes no global lock.
/// When clone3 is refused (older kernel, seccomp, EBUSY...), `fork()` falls back to a plain
/// fork and `finish(pid:)` writes the pid to the unified `cgroup.procs` as before, so errors
/// read the same.
public struct Joiner {
    /// `tasks` of each v1 directory, open for writing.
    public var tasks: [(dir: String, fd: Int32)] = []
    /// The unified (v2) directory and an O_PATH fd of it, -1 without one.
    public var unifiedDir: String?
    public var unifiedFD: Int32 = -1
    /// False: the child must not be forked into the v2 directory (the caller has work to do
    /// in the child before it joins, like exec's initial CPU affinity).
    public var useClone3 = true
    /// True once the child was forked into the unified directory.
    public private(set) var forkedIntoUnified = false

    public init() {}

    /// Forks (raw clone, no atfork handlers), into the unified directory when there is one.
    public mutating func fork() -> pid_t {
        if unifiedFD >= 0 && useClone3 {
            let pid = skiff_fork_into_cgroup(unifiedFD)
            if pid >= 0 { forkedIntoUnified = true }
            if pid == 0 { return 0 }  // the child: nothing else here
            if pid > 0 {
                Log.debug("cgroup: forked into \(q(unifiedDir ?? "")) by clone3 CLONE_INTO_CGROUP")
                return pid
            }
            Log.debug("cgroup: clone3 CLONE_INTO_CGROUP failed (\(SysError.text(errno))): the process joins by cgroup.procs")
        } else if unifiedFD < 0 && !tasks.isEmpty {
            Log.debug("cgroup: no cgroup v2 directory; the process joins each v1 hierarchy through its tasks file")
        }
        return skiff_fork()
    }

    /// In the child: moves it into every v1 hierarchy. Returns the error `add(pid:)` would
    /// have thrown.
    public func joinSelf() -> SysError? {
        for t in tasks {
            var zero: UInt8 = 0x30
            var n = 0
            repeat { n = write(t.fd, &zero, 1) } while n < 0 && errno == EINTR
            if n != 1 { return SysError("join cgroup \(q(t.dir))") }
        }
        return nil
    }

    /// In the parent: the unified directory, if the child was not forked into it.
    public func finish(pid: pid_t) throws {
        guard let dir = unifiedDir, !forkedIntoUnified else { return }
        do { try Files.write(dir + "/cgroup.procs", "\(pid)", flags: O_WRONLY) } catch let e as SysError {
            throw SysError("join cgroup \(q(dir))", errno: e.errno)
        }
    }

    public mutating func close() {
        for t in tasks { Glibc.close(t.fd) }
        tasks = []
        if unifiedFD >= 0 { Glibc.close(unifiedFD) }
        unifiedFD = -1
    }
}
