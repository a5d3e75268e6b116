import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// How the uid_map and gid_map of a new user namespace get written.
///
/// As root, skiff writes any mapping itself. As an unprivileged user the kernel only lets a
/// process write one line mapping its own euid (uid_map) or egid (gid_map, after "deny" in
/// setgroups); anything else (several ranges, other host ids) goes through the setuid helpers
/// newuidmap/newgidmap of the `uidmap` package, which check /etc/subuid and /etc/subgid.
struct IDMapWriter {
    enum Method: Equatable { case direct, helper(String) }
    let uid: Method
    let gid: Method
    let privileged: Bool

    /// Decides how to write `uid`/`gid`, and fails now (before any process exists) when a
    /// helper is needed and not installed. `path` names the config fields in errors.
    init(uid: [IDMapping], gid: [IDMapping], uidPath: String = "linux.uidMappings", gidPath: String = "linux.gidMappings") throws {
        privileged = geteuid() == 0
        if privileged {
            self.uid = .direct
            self.gid = .direct
            return
        }
        self.uid = try IDMapWriter.method(uid, own: geteuid(), helper: "newuidmap", kind: "uid", path: uidPath)
        self.gid = try IDMapWriter.method(gid, own: getegid(), helper: "newgidmap", kind: "gid", path: gidPath)
    }

    static func method(_ m: [IDMapping], own: UInt32, helper: String, kind: String, path: String) throws -> Method {
        if m.count == 1 && m[0].size == 1 && m[0].hostID == own { return .direct }
        if let p = findHelper(helper) { return .helper(p) }
        let text = mappingText(m).trimmingCharacters(in: "\n").replacingAll("\n", with: ",")
        throw RuntimeError("\(path): \(JSON.quoted(text)) maps more than your own \(kind) \(own); as an unprivileged user that needs \(helper) (package uidmap), which is not installed: install it (apt-get install uidmap) and give your user ranges in /etc/sub\(kind), or map only \(kind) \(own) with size 1 (as `skiff spec --rootless` does)")
    }

    /// newuidmap/newgidmap in PATH or the usual places.
    static func findHelper(_ name: String) -> String? {
        var dirs = (getenv("PATH").map { String(cString: $0) } ?? "").split(separator: ":").map(String.init)
        dirs += ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
        for d in dirs where d.hasPrefix("/") {
            let p = d + "/" + name
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// Writes both maps of the user namespace of `pid`.
    func write(pid: pid_t, uid: [IDMapping], gid: [IDMapping], uidPath: String = "linux.uidMappings", gidPath: String = "linux.gidMappings") throws {
        try writeOne(uid, method: self.uid, file: "/proc/\(pid)/uid_map", pid: pid, path: uidPath)
        if case .direct = self.gid, !privileged {
            // The kernel lets an unprivileged process write gid_map only once setgroups(2) is
            // denied in the namespace (or it could drop a group that restricts it).
            do { try Files.write("/proc/\(pid)/setgroups", "deny", flags: O_WRONLY) } catch let e as SysError {
                throw RuntimeError("\(gidPath): cannot deny setgroups before writing gid_map: \(SysError.text(e.errno))")
            }
        }
        try writeOne(gid, method: self.gid, file: "/proc/\(pid)/gid_map", pid: pid, path: gidPath)
    }

    func writeOne(_ m: [IDMapping], method: Method, file: String, pid: pid_t, path: String) throws {
        let text = mappingText(m)
        let shown = JSON.quoted(text.trimmingCharacters(in: "\n").replacingAll("\n", with: ","))
        switch method {
        case .direct:
            do { try Files.write(file, text, flags: O_WRONLY) } catch let e as SysError {
                throw RuntimeError("\(path): the kernel refused \(shown): \(SysError.text(e.errno)) (ranges must not overlap and hostIDs must exist)")
            }
        case .helper(let tool):
            var args = [tool, String(pid)]
            for r in m { args += [String(r.containerID), String(r.hostID), String(r.size)] }
            let (status, output) = try IDMapWriter.run(args)
            if status != 0 {
                let name = Files.basename(tool)
                let kind = name == "newuidmap" ? "uid" : "gid"
                let detail = output.isEmpty ? "" : ": \(output)"
                throw RuntimeError("\(path): \(name) refused \(shown) (exit status \(status))\(detail); the ranges must be given to your user in /etc/sub\(kind)")
            }
        }
    }

    /// Runs a program and returns its exit status (or 128+signal) and what it wrote.
    static func run(_ args: [String]) throws -> (Int32, String) {
        var pipe: [Int32] = [0, 0]
        try sys("pipe") { skiff_pipe2(&pipe, O_CLOEXEC) }
        let argv = CStrings(args)
        let pid = skiff_fork()
        if pid == 0 {
            Signals.resetForExec()
            dup2(pipe[1], 1)
            dup2(pipe[1], 2)
            execv(args[0], argv.pointers)
            let msg = "cannot execute \(args[0]): \(SysError.text(errno))\n"
            _ = msg.withCString { Glibc.write(2, $0, strlen($0)) }
            _exit(127)
        }
        close(pipe[1])
        if pid < 0 { close(pipe[0]); throw SysError("fork \(args[0])") }
        let out = (try? Files.readAll(fd: pipe[0], limit: 8192)) ?? []
        close(pipe[0])
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        let status = skiff_wifexited(st) != 0 ? skiff_wexitstatus(st) : 128 + skiff_wtermsig(st)
        return (status, String(decoding: out, as: UTF8.self).trimmingCharacters(in: " \n"))
    }
}

/// Idmapped mounts (config.md: `uidMappings`/`gidMappings` on a mount, the `idmap` and `ridmap`
/// options). The parent makes each one as a detached copy of the source (open_tree with
/// OPEN_TREE_CLONE) carrying MOUNT_ATTR_IDMAP with a user namespace that holds the mapping; the
/// container's init then attaches it with move_mount onto the destination it resolved inside
/// the rootfs. The parent does it because the kernel requires CAP_SYS_ADMIN over the user
/// namespace of the source filesystem (the host's), which the container's init lacks when it
/// has a user namespace of its own.
enum IdmappedMounts {
    /// Indexes of the mounts that are idmapped.
    static func indexes(_ config: ContainerConfig) -> [Int] {
        config.spec.mounts.indices.filter { isIdmapped(config.spec.mounts[$0]) }
    }

    static func isIdmapped(_ m: Mount) -> Bool {
        !m.uidMappings.isEmpty || !m.gidMappings.isEmpty || m.options.contains("idmap") || m.options.contains("ridmap")
    }

    /// Checks made before anything exists: only bind mounts, and mappings to use.
    static func validate(_ spec: Spec, plan: NamespacePlan) throws {
        for (i, m) in spec.mounts.enumerated() where isIdmapped(m) {
            let opts = try MountOptions(m.options, path: "mounts[\(i)].options")
            let option = m.options.contains("ridmap") ? "ridmap" : "idmap"
            if !(opts.bind || m.type == "bind") {
                throw DecodeError(path: "mounts[\(i)]", "an idmapped mount (\(JSON.quoted(option))) must be a bind mount, not type \(JSON.quoted(m.type ?? ""))",
                                  hint: "add \"bind\" or \"rbind\" to the options")
            }
            if m.uidMappings.isEmpty && m.gidMappings.isEmpty && !plan.has(.user) {
                throw DecodeError(path: "mounts[\(i)].options", "\(JSON.quoted(option)) without uidMappings and gidMappings means the container's user namespace mappings, but the container has no user namespace",
                                  hint: "give the mount uidMappings and gidMappings, or add {\"type\": \"user\"} to linux.namespaces")
            }
            for (k, r) in (m.uidMappings.map { ("uidMappings", $0) } + m.gidMappings.map { ("gidMappings", $0) }) where r.size == 0 {
                throw DecodeError(path: "mounts[\(i)].\(k)", "a range of size 0 maps nothing", hint: "give each range a size of at least 1")
            }
        }
    }

    /// Makes the detached idmapped copy of every idmapped mount. `containerUserNS` is an fd of
    /// the container's user namespace (for `idmap` without mappings), or -1.
    /// Returns mount index -> detached mount fd (close-on-exec).
    static func prepare(_ config: ContainerConfig, containerUserNS: Int32) throws -> [Int: Int32] {
        var fds: [Int: Int32] = [:]
        do {
            for i in indexes(config) {
                fds[i] = try prepareOne(config.spec.mounts[i], index: i, containerUserNS: containerUserNS)
            }
        } catch {
            for (_, fd) in fds { close(fd) }
            throw error
        }
        return fds
    }

    static func prepareOne(_ m: Mount, index i: Int, containerUserNS: Int32) throws -> Int32 {
        let opts = try MountOptions(m.options, path: "mounts[\(i)].options")
        let source = m.source ?? ""
        let what = "mounts[\(i)]: idmapped mount of \(JSON.quoted(source)) on \(JSON.quoted(m.destination))"
        guard Files.stat(source) != nil else {
            throw RuntimeError("mounts[\(i)].source: \(JSON.quoted(source)) does not exist (\(SysError.text(errno))); bind mounts need an existing file or directory")
        }
        let treeFlags = SKIFF_OPEN_TREE_CLONE | UInt32(O_CLOEXEC) | (opts.recursiveBind ? SKIFF_AT_RECURSIVE : 0)
        let tree = skiff_open_tree(AT_FDCWD, source, treeFlags)
        if tree < 0 {
            if errno == EPERM && geteuid() != 0 {
                throw RuntimeError("\(what): not permitted as an unprivileged user (open_tree: \(SysError.text(errno))); idmapped bind mounts of host filesystems need root on the host")
            }
            throw SysError("\(what): open_tree")
        }
        var nsFD = containerUserNS
        var ownNS = false
        do {
            if !m.uidMappings.isEmpty || !m.gidMappings.isEmpty {
                nsFD = try userNamespace(uid: m.uidMappings, gid: m.gidMappings, path: "mounts[\(i)]")
                ownNS = true
            }
            defer { if ownNS { close(nsFD) } }
            let recursive = opts.recursiveIdmap ? SKIFF_AT_RECURSIVE : 0
            if skiff_mount_setattr(tree, "", UInt32(SKIFF_AT_EMPTY_PATH) | recursive, SKIFF_MOUNT_ATTR_IDMAP, 0, 0, UInt64(nsFD)) != 0 {
                let e = errno
                switch e {
                case EINVAL:
                    let fs = fsName(source)
                    throw RuntimeError("\(what): the filesystem of \(JSON.quoted(source)) (\(fs))\(opts.recursiveIdmap ? " or of a mount below it" : "") does not support idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP: \(SysError.text(e))); use a filesystem that does (ext4, xfs, btrfs, tmpfs, overlayfs) or drop the idmapping")
                case EPERM:
                    throw RuntimeError("\(what): not permitted (mount_setattr MOUNT_ATTR_IDMAP: \(SysError.text(e))); only root on the host may idmap a host filesystem, so rootless containers cannot use idmapped bind mounts")
                default:
                    throw SysError("\(what): mount_setattr MOUNT_ATTR_IDMAP", errno: e)
                }
            }
        } catch {
            close(tree)
            throw error
        }
        return tree
    }

    /// A user namespace with these maps, kept by an fd: a child is cloned into it, the maps
    /// are written from here, the fd opened, and the child ends.
    static func userNamespace(uid: [IDMapping], gid: [IDMapping], path: String) throws -> Int32 {
        let writer = try IDMapWriter(uid: uid, gid: gid, uidPath: path + ".uidMappings", gidPath: path + ".gidMappings")
        var pipe: [Int32] = [0, 0]
        try sys("pipe") { skiff_pipe2(&pipe, O_CLOEXEC) }
        let pid = skiff_fork_userns()
        if pid == 0 {
            // Waits until the parent closes its end (EOF), then ends.
            close(pipe[1])
            var b: UInt8 = 0
            while read(pipe[0], &b, 1) < 0 && errno == EINTR {}
            _exit(0)
        }
        close(pipe[0])
        defer {
            close(pipe[1])
            if pid > 0 {
                var st: Int32 = 0
                while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
            }
        }
        if pid < 0 { throw SysError("\(path): create a user namespace for the idmapping (clone CLONE_NEWUSER)") }
        try writer.write(pid: pid, uid: uid, gid: gid, uidPath: path + ".uidMappings", gidPath: path + ".gidMappings")
        return try sys("\(path): open the idmapping's user namespace") { skiff_open("/proc/\(pid)/ns/user", O_RDONLY | O_CLOEXEC, 0) }
    }

    /// The filesystem type of a path, for errors.
    static func fsName(_ path: String) -> String {
        let magic = skiff_fs_magic(path)
        let names: [Int: String] = [
            0xEF53: "ext4", 0x5846_5342: "xfs", 0x9123_683E: "btrfs", 0x0102_1994: "tmpfs", 0x794C_7630: "overlayfs",
            0x9FA0: "proc", 0x6265_6572: "sysfs", 0x8584_58F6: "ramfs", 0x6969: "nfs", 0x6573_5546: "fuse",
            0x4D44: "vfat", 0x1CD1: "devpts", 0x1980_0202: "mqueue", 0x2762_4C50: "cgroup2", 0x0027_E0EB: "cgroup",
            0x6462_6720: "debugfs", 0x7472_6163: "tracefs", 0x0187_2341: "securityfs",
        ]
        if magic < 0 { return "unknown type" }
        return names[magic].map { "type \($0)" } ?? "filesystem magic 0x" + String(magic, radix: 16)
    }
}

/// Rootless operation: skiff running with euid != 0 (or `--rootless true`).
public enum Rootless {
    /// The default state root of an unprivileged user: $XDG_RUNTIME_DIR/skiff, as runc uses
    /// $XDG_RUNTIME_DIR/runc.
    public static func defaultRoot() throws -> String {
        guard let x = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), x.hasPrefix("/") else {
            throw RuntimeError("running as an unprivileged user (uid \(geteuid())), skiff keeps its state in $XDG_RUNTIME_DIR/skiff, but XDG_RUNTIME_DIR is not set: set it (for example to /run/user/\(geteuid())) or give --root DIR")
        }
        return Files.clean(x) + "/skiff"
    }

    /// Resource limits a container without a cgroup cannot have. Device rules are not limits
    /// here: a user namespace cannot create device nodes, only bind the ones the user may open
    /// (runc ignores them in rootless mode too).
    static func limitFields(_ r: Resources) -> [String] {
        var f: [String] = []
        if r.memory != nil { f.append("memory") }
        if r.cpu != nil { f.append("cpu") }
        if r.pids != nil { f.append("pids") }
        if r.blockIO != nil { f.append("blockIO") }
        if !r.hugepageLimits.isEmpty { f.append("hugepageLimits") }
        if r.network != nil { f.append("network") }
        if !r.rdma.isEmpty { f.append("rdma") }
        if !r.unified.isEmpty { f.append("unified") }
        return f
    }

    /// Whether setgroups(2) is allowed in our user namespace ("deny" after a gid_map written
    /// by an unprivileged parent).
    static var setgroupsAllowed: Bool {
        Files.readIfPresent("/proc/self/setgroups")?.hasPrefix("deny") != true
    }
}

extension ContainerState {
    /// A rootless container whose user could not create its cgroup: nothing of it exists.
    public var hasNoCgroup: Bool {
        cgroupCreated.isEmpty && !cgroup.dirs.contains { Files.isDirectory($0) }
    }

    /// The container's processes: those of its cgroup; without a cgroup (rootless), those in
    /// the pid namespace of its init.
    public func processes() -> [pid_t] {
        guard hasNoCgroup else { return cgroup.pids() }
        guard pid > 0, Proc.isAlive(pid, startTime: startTime), let ns = Files.stat("/proc/\(pid)/ns/pid") else { return [] }
        // Sharing skiff's own pid namespace, a container's processes cannot be told apart.
        if let o = Files.stat("/proc/self/ns/pid"), o.st_ino == ns.st_ino && o.st_dev == ns.st_dev { return [pid] }
        return Files.list("/proc").compactMap { pid_t($0) }.filter { p in
            guard let s = Files.stat("/proc/\(p)/ns/pid"), s.st_ino == ns.st_ino && s.st_dev == ns.st_dev else { return false }
            return Proc.state(p) != "Z"  // as cgroup.procs, which drops exited ones
        }.sorted()
    }
}
