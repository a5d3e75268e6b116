import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// Builds the container's filesystem inside its mount namespace: the rootfs bind, `mounts` in
/// order, devices, then pivot_root, masked and read-only paths. Runs in the container's init
/// before it becomes the user process.
///
/// Every destination inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT), so a symlink
/// in the image (`/escape -> /../../etc`) resolves inside the rootfs and never onto the host; the
/// mount then goes onto the resolved file through /proc/self/fd/N, not through the path again.
struct Rootfs {
    let root: String
    let config: ContainerConfig
    var rootFD: Int32 = -1
    /// Detached idmapped mounts made by the parent, by mount index (IdmappedMounts).
    var mountFDs: [Int: Int32] = [:]

    init(config: ContainerConfig) {
        self.config = config
        self.root = config.rootfs
    }

    // MARK: - Before pivot_root

    /// Propagation of "/", the rootfs bind, and the configured mounts.
    mutating func prepare() throws {
        let propagation: UInt
        if let p = config.spec.linux?.rootfsPropagation, let f = MountOptions.propagationTable[p] {
            propagation = f
        } else {
            propagation = SKIFF_MS_SLAVE | SKIFF_MS_REC
        }
        // An unbindable "/" could not be bound: it becomes so once the rootfs is bound.
        let unbindable = propagation & SKIFF_MS_UNBINDABLE != 0
        try mount(nil, "/", nil, unbindable ? SKIFF_MS_SLAVE | SKIFF_MS_REC : propagation, nil,
                  what: "set propagation of `/` in the container's mount namespace")
        if propagation & SKIFF_MS_SHARED != 0 { try makeParentPrivate() }
        try mount(root, root, nil, SKIFF_MS_BIND | SKIFF_MS_REC, nil, what: "bind the rootfs \(q(root)) onto itself")
        if unbindable {
            try mount(nil, root, nil, propagation, nil, what: "linux.rootfsPropagation: make the rootfs unbindable")
        }
        rootFD = try sys("open the rootfs \(q(root))") { skiff_open(root, SKIFF_O_PATH | O_DIRECTORY | O_CLOEXEC, 0) }

        for (i, m) in config.spec.mounts.enumerated() {
            try mountOne(m, index: i)
        }
        if Files.isDirectory(root + "/dev") && !config.bindsDev {
            try createDefaultDevices()
        }
        for (i, d) in (config.spec.linux?.devices ?? []).enumerated() {
            try createDevice(d, path: "linux.devices[\(i)]")
        }
        // A missing cwd is created, as runc does.
        close(try resolve(config.process.cwd, create: .directory, what: "process.cwd"))
    }

    /// pivot_root(2) needs the new root's parent mount not to be shared: with a shared
    /// rootfsPropagation, make the mount that holds the rootfs private.
    func makeParentPrivate() throws {
        guard let info = Files.readIfPresent("/proc/self/mountinfo") else { return }
        var best = "/"
        for line in info.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 4 else { continue }
            let mp = String(f[4])
            if (root == mp || root.hasPrefix(mp == "/" ? "/" : mp + "/")) && mp.count > best.count { best = mp }
        }
        try mount(nil, best, nil, SKIFF_MS_PRIVATE, nil, what: "make the parent mount \(q(best)) of the rootfs private")
    }

    enum Kind { case directory, file }

    /// Resolves `dest` (a path in the container) inside the rootfs, creating what is missing:
    /// directories along the way, and the last component as a directory or an empty file.
    /// Returns an SKIFF_O_PATH fd.
    func resolve(_ dest: String, create kind: Kind?, what: String, depth: Int = 0) throws -> Int32 {
        if depth > 40 { throw SysError("\(what): resolve \(q(dest)) in the rootfs", errno: ELOOP) }
        let comps = dest.split(separator: "/").map(String.init).filter { $0 != "." }
        let resolveFlags = SKIFF_RESOLVE_IN_ROOT | SKIFF_RESOLVE_NO_MAGICLINKS
        if comps.isEmpty { return try sys("reopen the rootfs") { fcntl(rootFD, F_DUPFD_CLOEXEC, 0) } }
        // Fast path: it exists.
        let full = comps.joined(separator: "/")
        let fd = skiff_openat2(rootFD, full, UInt64(SKIFF_O_PATH | O_CLOEXEC), 0, resolveFlags)
        if fd >= 0 { return fd }
        guard errno == ENOENT, let kind else { throw SysError("\(what): resolve \(q(dest)) in the rootfs") }
        var parent = try sys("reopen the rootfs") { fcntl(rootFD, F_DUPFD_CLOEXEC, 0) }
        defer { close(parent) }
        for (n, c) in comps.enumerated() {
            let prefix = comps[0...n].joined(separator: "/")
            let last = n == comps.count - 1
            var next = skiff_openat2(rootFD, prefix, UInt64(SKIFF_O_PATH | O_CLOEXEC), 0, resolveFlags)
            if next < 0 && errno == ENOENT {
                if last && kind == .file {
                    let f = skiff_openat(parent, c, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o644)
                    if f < 0 && errno != EEXIST { throw SysError("\(what): create \(q("/" + prefix)) in the rootfs") }
                    if f >= 0 { close(f) }
                } else if mkdirat(parent, c, 0o755) != 0 && errno != EEXIST {
                    throw SysError("\(what): create directory \(q("/" + prefix)) in the rootfs")
                }
                next = skiff_openat2(rootFD, prefix, UInt64(SKIFF_O_PATH | O_CLOEXEC), 0, resolveFlags)
            }
            if next < 0 && errno == ENOENT {
                // A dangling symlink: create its target, inside the rootfs, and go on there.
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let len = readlinkat(parent, c, &buf, buf.count - 1)
                if len > 0 {
                    buf[len] = 0
                    let target = String(cString: buf)
                    let base = target.hasPrefix("/") ? target : "/" + comps[0..<n].joined(separator: "/") + "/" + target
                    let rest = comps[(n + 1)...].joined(separator: "/")
                    let redirected = Files.clean(rest.isEmpty ? base : base + "/" + rest)
                    return try resolve(redirected, create: kind, what: what, depth: depth + 1)
                }
            }
            if next < 0 {
                throw SysError("\(what): resolve \(q("/" + prefix)) in the rootfs")
            }
            if last { return next }
            close(parent)
            parent = next
        }
        fatalError("unreachable: the loop returns on the last component")
    }

    static func fdPath(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }

    func mount(_ source: String?, _ target: String, _ type: String?, _ flags: UInt, _ data: String?, what: String) throws {
        let r = Glibc.mount(source, target, type, flags, data)
        if r == 0 { return }
        let e = errno
        if e == ENODEV, let type { throw RuntimeError("\(what): the kernel has no filesystem type \(JSON.quoted(type))") }
        if e == EINVAL, let data, !data.isEmpty { throw RuntimeError("\(what): \(SysError.text(e)) (check the options \(JSON.quoted(data)))") }
        throw SysError(what, errno: e)
    }

    mutating func mountOne(_ m: Mount, index i: Int) throws {
        let path = "mounts[\(i)]"
        let opts = try MountOptions(m.options, path: path + ".options")
        let type = m.type ?? ""
        let isBind = opts.bind || type == "bind"
        let source = m.source ?? ""
        let what = "\(path): mount \(JSON.quoted(source.isEmpty ? type : source))\(isBind || type.isEmpty || type == source ? "" : " (type \(JSON.quoted(type)))") on \(JSON.quoted(m.destination))"

        if type == "cgroup" && !isBind {
            try mountCgroup(m, opts: opts, what: what)
            return
        }

        var kind = Kind.directory
        if isBind {
            guard let st = Files.stat(source) else {
                throw RuntimeError("\(path).source: \(JSON.quoted(source)) does not exist (\(SysError.text(errno))); bind mounts need an existing file or directory")
            }
            if st.st_mode & S_IFMT != S_IFDIR { kind = .file }
        }
        let dfd = try resolve(m.destination, create: kind, what: what)
        defer { close(dfd) }
        var copyFrom: Int32 = -1
        if opts.tmpcopyup {
            copyFrom = skiff_open(Rootfs.fdPath(dfd), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
            if copyFrom < 0 { throw SysError("\(what): open the directory to copy up") }
        }
        defer { if copyFrom >= 0 { close(copyFrom) } }
        let target = Rootfs.fdPath(dfd)

        if isBind {
            if let tree = mountFDs[i] {
                // An idmapped mount: attach the parent's detached copy of the source.
                mountFDs[i] = nil
                defer { close(tree) }
                let flags = SKIFF_MOVE_MOUNT_F_EMPTY_PATH | SKIFF_MOVE_MOUNT_T_EMPTY_PATH
                if skiff_move_mount(tree, "", dfd, "", flags) != 0 { throw SysError("\(what): attach the idmapped mount (move_mount)") }
            } else {
                if IdmappedMounts.isIdmapped(m) { throw RuntimeError("\(what): the idmapped mount was not prepared") }
                try mount(source, target, nil, SKIFF_MS_BIND | (opts.recursiveBind ? SKIFF_MS_REC : 0), nil, what: what)
            }
            let extra = opts.flags & ~(SKIFF_MS_BIND | SKIFF_MS_REC | SKIFF_MS_REMOUNT)
            if extra != 0 || opts.clear != 0 {
                // Flags of a bind mount apply on a remount of the new mount.
                let nfd = try resolve(m.destination, create: nil, what: what)
                defer { close(nfd) }
                let flags = SKIFF_MS_BIND | SKIFF_MS_REMOUNT | extra | lockedFlags(Rootfs.fdPath(nfd))
                try mount(nil, Rootfs.fdPath(nfd), nil, flags, nil, what: "\(what) (remount with its options)")
            }
        } else {
            let data = opts.dataString
            try mount(source.isEmpty ? type : source, target, type.isEmpty ? nil : type, opts.flags, data.isEmpty ? nil : data, what: what)
        }

        if !opts.propagation.isEmpty || opts.recursiveSet != 0 || opts.recursiveClear != 0 || copyFrom >= 0 {
            let nfd = try resolve(m.destination, create: nil, what: what)
            defer { close(nfd) }
            for p in opts.propagation {
                try mount(nil, Rootfs.fdPath(nfd), nil, p, nil, what: "\(what) (propagation)")
            }
            if opts.recursiveSet != 0 || opts.recursiveClear != 0 {
                let r = skiff_mount_setattr(nfd, "", UInt32(SKIFF_AT_EMPTY_PATH) | SKIFF_AT_RECURSIVE, opts.recursiveSet, opts.recursiveClear, 0, 0)
                if r != 0 { throw SysError("\(what) (recursive options)") }
            }
            if copyFrom >= 0 {
                let to = skiff_open(Rootfs.fdPath(nfd), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
                if to < 0 { throw SysError("\(what): open the new tmpfs for tmpcopyup") }
                defer { close(to) }
                try Rootfs.copyTree(from: copyFrom, to: to, what: what)
            }
        }
    }

    /// Flags a user namespace may not drop on remount (nodev, nosuid, noexec, atime flags of the
    /// original mount); keeping them is what lets `ro` remounts succeed there.
    func lockedFlags(_ path: String) -> UInt {
        guard config.plan.has(.user) else { return 0 }
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        var f: UInt = 0
        let m = UInt(s.f_flag)
        if m & SKIFF_ST_NOSUID != 0 { f |= SKIFF_MS_NOSUID }
        if m & SKIFF_ST_NODEV != 0 { f |= SKIFF_MS_NODEV }
        if m & SKIFF_ST_NOEXEC != 0 { f |= SKIFF_MS_NOEXEC }
        if m & SKIFF_ST_NOATIME != 0 { f |= SKIFF_MS_NOATIME }
        if m & SKIFF_ST_NODIRATIME != 0 { f |= SKIFF_MS_NODIRATIME }
        if m & SKIFF_ST_RELATIME != 0 { f |= SKIFF_MS_RELATIME }
        return f
    }

    /// `tmpcopyup`: copies what the directory held before the tmpfs covered it.
    static func copyTree(from src: Int32, to dst: Int32, what: String) throws {
        guard let dir = fdopendir(fcntl(src, F_DUPFD_CLOEXEC, 0)) else { throw SysError("\(what): read directory for tmpcopyup") }
        defer { closedir(dir) }
        while let e = readdir(dir) {
            let name = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name == "." || name == ".." { continue }
            var st = stat()
            guard fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let mode = st.st_mode & 0o7777
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if mkdirat(dst, name, mode) != 0 && errno != EEXIST { throw SysError("\(what): tmpcopyup mkdir \(q(name))") }
                let s2 = skiff_openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
                let d2 = skiff_openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
                if s2 >= 0 && d2 >= 0 { try copyTree(from: s2, to: d2, what: what) }
                if s2 >= 0 { close(s2) }
                if d2 >= 0 { close(d2) }
            case S_IFREG:
                let s2 = skiff_openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0)
                guard s2 >= 0 else { throw SysError("\(what): tmpcopyup open \(q(name))") }
                defer { close(s2) }
                let d2 = skiff_openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, UInt32(mode))
                guard d2 >= 0 else { throw SysError("\(what): tmpcopyup create \(q(name))") }
                defer { close(d2) }
                let bytes = try Files.readAll(fd: s2)
                try Files.writeAll(fd: d2, bytes)
            case S_IFLNK:
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(src, name, &buf, buf.count - 1)
                if n >= 0 { buf[n] = 0; symlinkat(buf, dst, name) }
            default:
                mknodat(dst, name, st.st_mode, st.st_rdev)
            }
            fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW)
        }
    }

    /// A `cgroup` mount: with a new cgroup namespace, fresh cgroup filesystems (which show the
    /// container's cgroup as their root); otherwise binds of the container's own cgroup
    /// directories. On a v1 or hybrid host, a tmpfs holds one directory per hierarchy.
    func mountCgroup(_ m: Mount, opts: MountOptions, what: String) throws {
        let layout = config.cgroupLayout
        let fresh = config.plan.isNew(.cgroup)
        let flags = opts.flags & ~(SKIFF_MS_BIND | SKIFF_MS_REC)
        let dfd = try resolve(m.destination, create: .directory, what: what)
        defer { close(dfd) }
        if layout.v1.isEmpty, let unified = layout.unified {
            if fresh {
                try mount("cgroup2", Rootfs.fdPath(dfd), "cgroup2", flags, nil, what: what)
            } else {
                try bindRemount(unified + cgroupPath(unified, name: "unified"), m.destination, flags: flags, what: what)
            }
            return
        }
        try mount("tmpfs", Rootfs.fdPath(dfd), "tmpfs", SKIFF_MS_NOSUID | SKIFF_MS_NODEV | SKIFF_MS_NOEXEC, "mode=755", what: what)
        var subs: [(name: String, fsType: String, data: String?, host: String)] = layout.v1.map { h in
            (Files.basename(h.mountPoint), "cgroup", h.controllers.joined(separator: ","), h.mountPoint)
        }
        if let u = layout.unified { subs.append(("unified", "cgroup2", nil, u)) }
        let base = m.destination.hasSuffix("/") ? m.destination : m.destination + "/"
        for s in subs {
            if fresh {
                let sfd = try resolve(base + s.name, create: .directory, what: what)
                defer { close(sfd) }
                try mount("cgroup", Rootfs.fdPath(sfd), s.fsType, flags, s.data, what: "\(what): \(s.name)")
            } else {
                close(try resolve(base + s.name, create: .directory, what: what))
                try bindRemount(s.host + cgroupPath(s.host, name: s.name), base + s.name, flags: flags, what: "\(what): \(s.name)")
            }
        }
        // Hierarchies that combine controllers ("cpu,cpuacct") get a link per controller.
        for h in layout.v1 where h.controllers.count > 1 {
            for c in h.controllers where !c.hasPrefix("name=") && c != Files.basename(h.mountPoint) {
                let pfd = try resolve(m.destination, create: nil, what: what)
                symlinkat(Files.basename(h.mountPoint), pfd, c)
                close(pfd)
            }
        }
        if opts.flags & SKIFF_MS_RDONLY != 0 {
            let nfd = try resolve(m.destination, create: nil, what: what)
            defer { close(nfd) }
            try mount(nil, Rootfs.fdPath(nfd), nil, SKIFF_MS_REMOUNT | SKIFF_MS_RDONLY | SKIFF_MS_NOSUID | SKIFF_MS_NODEV | SKIFF_MS_NOEXEC, "mode=755", what: "\(what) (read-only)")
        }
    }

    /// The cgroup to show in a hierarchy: the container's; or, rootless without a cgroup of
    /// its own, the one the container's processes are in (skiff's own, from /proc/self/cgroup).
    func cgroupPath(_ hierarchy: String, name: String) -> String {
        if !config.options.rootless || Files.isDirectory(hierarchy + config.cgroupPath) { return config.cgroupPath }
        for line in (Files.readIfPresent("/proc/self/cgroup") ?? "").split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            let controllers = f[1].split(separator: ",").map(String.init)
            let matches = name == "unified" ? f[1].isEmpty : (controllers.contains(name) || controllers.contains("name=" + name)
                || Set(controllers) == Set(name.split(separator: ",").map(String.init)))
            if matches { return f[2] == "/" ? "" : String(f[2]) }
        }
        return config.cgroupPath
    }

    /// A bind mount, then a remount of the new mount with `flags` (bind flags apply only so).
    func bindRemount(_ source: String, _ dest: String, flags: UInt, what: String) throws {
        let dfd = try resolve(dest, create: .directory, what: what)
        try mount(source, Rootfs.fdPath(dfd), nil, SKIFF_MS_BIND | SKIFF_MS_REC, nil, what: what)
        close(dfd)
        if flags == 0 { return }
        let nfd = try resolve(dest, create: nil, what: what)
        defer { close(nfd) }
        try mount(nil, Rootfs.fdPath(nfd), nil, SKIFF_MS_BIND | SKIFF_MS_REMOUNT | flags | lockedFlags(Rootfs.fdPath(nfd)), nil, what: "\(what) (remount with its options)")
    }

    // MARK: - Devices

    static let defaultDevices: [(name: String, major: UInt32, minor: UInt32)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]

    /// /dev/null, zero, full, random, urandom, tty (config-linux.md "Default Devices"), the
    /// /dev/ptmx link and the /dev/fd, stdin, stdout, stderr links.
    func createDefaultDevices() throws {
        let custom = Set((config.spec.linux?.devices ?? []).map { Files.clean($0.path) })
        for d in Rootfs.defaultDevices where !custom.contains("/dev/" + d.name) {
            try makeNode(path: "/dev/" + d.name, type: S_IFCHR, major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0, what: "default device /dev/\(d.name)")
        }
        let devFD = try resolve("/dev", create: .directory, what: "create /dev links")
        defer { close(devFD) }
        var links = [("pts/ptmx", "ptmx"), ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"),
                     ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr")]
        if Files.exists("/proc/kcore") { links.append(("/proc/kcore", "core")) }
        for (target, name) in links where !custom.contains("/dev/" + name) {
            if name == "ptmx" { unlinkat(devFD, name, 0) }
            if symlinkat(target, devFD, name) != 0 && errno != EEXIST {
                throw SysError("create the link /dev/\(name) -> \(target)")
            }
        }
    }

    func createDevice(_ d: Device, path: String) throws {
        let type: mode_t
        switch d.type {
        case "c", "u": type = S_IFCHR
        case "b": type = S_IFBLK
        default: type = S_IFIFO
        }
        try makeNode(path: d.path, type: type, major: UInt32(d.major ?? 0), minor: UInt32(d.minor ?? 0),
                     mode: mode_t(d.fileMode ?? 0o666), uid: d.uid ?? 0, gid: d.gid ?? 0, what: "\(path): create device \(JSON.quoted(d.path))",
                     conflictIsError: true)
    }

    /// mknod in the rootfs; in a user namespace (where mknod is not allowed) a bind mount of the
    /// host's device node instead, as runc does.
    /// With `conflictIsError` (linux.devices), a file already at `path` that is not this very
    /// device is an error (config-linux.md); the default devices replace what the image has.
    func makeNode(path: String, type: mode_t, major: UInt32, minor: UInt32, mode: mode_t, uid: UInt32, gid: UInt32, what: String,
                  conflictIsError: Bool = false) throws {
        let parent = Files.dirname(path), name = Files.basename(path)
        let pfd = try resolve(parent, create: .directory, what: what)
        defer { close(pfd) }
        var old = stat()
        if conflictIsError && fstatat(pfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0 {
            let sameDevice = old.st_mode & S_IFMT == type && (type == S_IFIFO || UInt64(old.st_rdev) == skiff_makedev(major, minor))
            if !sameDevice {
                throw RuntimeError("\(what): \(JSON.quoted(path)) already exists in the rootfs and is not that device (it is \(Files.kindName(old.st_mode))); remove it from the image or choose another path")
            }
        }
        unlinkat(pfd, name, 0)
        if config.plan.has(.user) {
            let f = skiff_openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o644)
            if f < 0 { throw SysError(what) }
            close(f)
            let nfd = try resolve(path, create: nil, what: what)
            defer { close(nfd) }
            try mount(path, Rootfs.fdPath(nfd), nil, SKIFF_MS_BIND, nil, what: "\(what) (bind of the host device \(q(path)))")
            return
        }
        let dev = skiff_makedev(major, minor)
        if mknodat(pfd, name, type | (mode & 0o7777), dev_t(dev)) != 0 { throw SysError(what) }
        // mknod applies the umask: set the mode exactly, then the owner.
        let nfd = try resolve(path, create: nil, what: what)
        defer { close(nfd) }
        if chmod(Rootfs.fdPath(nfd), mode & 0o7777) != 0 { throw SysError("\(what): chmod") }
        if chown(Rootfs.fdPath(nfd), uid, gid) != 0 { throw SysError("\(what): chown") }
    }

    // MARK: - Console

    /// Makes the container's pty (from its devpts, before pivot_root), binds the slave onto
    /// /dev/console, and sends the master over the console socket. Returns the slave.
    func setUpConsole(socket: Int32, user: User, bindConsole: Bool) throws -> Int32 {
        let pty = try Console.open(dirFD: rootFD >= 0 ? rootFD : AT_FDCWD, ptmx: "/dev/ptmx", size: config.process.consoleSize)
        defer { close(pty.master) }
        do { try Hardening.checkPty(master: pty.master, slave: pty.slave) } catch { close(pty.slave); throw error }
        if fchown(pty.slave, user.uid, gid_t.max /* keep the tty group devpts gave it */) != 0 { throw SysError("process.terminal: give the pty to uid \(user.uid)") }
        if bindConsole {
            let cfd = try openConsoleTarget()
            defer { close(cfd) }
            try mount(Rootfs.fdPath(pty.slave), Rootfs.fdPath(cfd), nil, SKIFF_MS_BIND, nil, what: "process.terminal: bind the pty onto /dev/console")
        }
        try Console.send(master: pty.master, name: pty.name, over: socket)
        close(socket)
        return pty.slave
    }

    /// /dev/console, the target of the pty's bind mount, opened without following a symlink
    /// (CVE-2025-52565: a /dev/console that links to /proc/sys/kernel/core_pattern or any other
    /// file would put the pty's mount there, before masked and read-only paths apply). A missing
    /// one is created; one that is not a regular file or a character device is refused.
    func openConsoleTarget() throws -> Int32 {
        let what = "process.terminal: /dev/console"
        let dev = try resolve("/dev", create: .directory, what: what)
        defer { close(dev) }
        let f = skiff_openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if f >= 0 { close(f) } else if errno != EEXIST { throw SysError("\(what): create it in the rootfs") }
        let fd = skiff_openat(dev, "console", SKIFF_O_PATH | O_NOFOLLOW | O_CLOEXEC, 0)
        if fd < 0 { throw SysError("\(what): open it in the rootfs") }
        var st = stat()
        let kind = fstat(fd, &st) == 0 ? st.st_mode & S_IFMT : 0
        guard kind == S_IFREG || kind == S_IFCHR else {
            close(fd)
            throw RuntimeError("\(what): it is \(Files.kindName(st.st_mode)) in the rootfs, not a file or a device; refusing to mount the console through it (CVE-2025-52565); remove it from the image, or mount a tmpfs on /dev")
        }
        return fd
    }

    // MARK: - pivot_root and after

    /// Makes the rootfs the container's `/`: pivot_root(".", ".") and a lazy unmount of the old
    /// root, or with `--no-pivot`, MS_MOVE and chroot (for roots on ramfs, where pivot_root fails).
    func pivot(noPivot: Bool) throws {
        let oldRoot = try sys("open the old root") { skiff_open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC, 0) }
        defer { close(oldRoot) }
        try sys("chdir to the rootfs \(q(root))") { chdir(root) }
        if noPivot {
            try mount(root, "/", nil, SKIFF_MS_MOVE, nil, what: "move the rootfs onto `/` (--no-pivot)")
            try sys("chroot to the rootfs") { chroot(".") }
        } else {
            try sys("pivot_root to \(q(root))") { skiff_pivot_root(".", ".") }
            // The old root is now stacked on "/": detach it without propagating to the host.
            // Through its own fd: "." may still be the new root, whose propagation
            // (rootfsPropagation, shared bind mounts) must stay as configured.
            try sys("chdir to the old root") { fchdir(oldRoot) }
            try mount(nil, ".", nil, SKIFF_MS_SLAVE | SKIFF_MS_REC, nil, what: "make the old root a slave")
            try sys("unmount the old root") { umount2(".", Int32(SKIFF_MNT_DETACH)) }
        }
        try sys("chdir to `/`") { chdir("/") }
        close(rootFD)
        // pivot_root refuses a shared new root: a shared rootfsPropagation is applied now.
        if let p = config.spec.linux?.rootfsPropagation, let f = MountOptions.propagationTable[p], f & SKIFF_MS_SHARED != 0 {
            try mount(nil, "/", nil, f, nil, what: "linux.rootfsPropagation: make `/` \(p)")
        }
    }

    /// After pivot_root: paths are the container's own, and "/" is the rootfs.
    func finish() throws {
        let linux = config.spec.linux
        for (i, p) in (linux?.readonlyPaths ?? []).enumerated() {
            try readonly(p, what: "linux.readonlyPaths[\(i)]")
        }
        for (i, p) in (linux?.maskedPaths ?? []).enumerated() {
            try mask(p, what: "linux.maskedPaths[\(i)]")
        }
        if config.spec.root?.readonly == true {
            let flags = SKIFF_MS_BIND | SKIFF_MS_REMOUNT | SKIFF_MS_RDONLY | lockedFlags("/")
            try mount(nil, "/", nil, flags, nil, what: "root.readonly: remount `/` read-only")
        }
    }

    /// `path` opened O_PATH without following a final symlink (so that what is checked is what
    /// gets mounted on), or nil when it does not exist.
    static func openNoFollow(_ path: String, what: String) throws -> Int32? {
        let fd = skiff_open(path, SKIFF_O_PATH | O_NOFOLLOW | O_CLOEXEC, 0)
        if fd >= 0 { return fd }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw SysError("\(what): open \(JSON.quoted(path))")
    }

    /// A read-only recursive bind of the path onto itself. The path is opened once without
    /// following a final symlink; the copy is made detached (open_tree), made read-only, and
    /// moved onto that same fd, so that a swap of the path in between changes nothing.
    func readonly(_ path: String, what: String) throws {
        guard let target = try Rootfs.openNoFollow(path, what: what) else { return } // nothing there
        defer { close(target) }
        var st = stat()
        if fstat(target, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK {
            throw RuntimeError("\(what): \(JSON.quoted(path)) is a symbolic link in the container; refusing to make it read-only through it")
        }
        let tree = skiff_open_tree(target, "", SKIFF_OPEN_TREE_CLONE | SKIFF_AT_RECURSIVE | UInt32(SKIFF_AT_EMPTY_PATH) | UInt32(O_CLOEXEC))
        if tree >= 0 {
            defer { close(tree) }
            if skiff_mount_setattr(tree, "", UInt32(SKIFF_AT_EMPTY_PATH) | SKIFF_AT_RECURSIVE, SKIFF_MOUNT_ATTR_RDONLY, 0, 0, 0) != 0 {
                throw SysError("\(what): make the bind of \(JSON.quoted(path)) read-only")
            }
            if skiff_move_mount(tree, "", target, "", SKIFF_MOVE_MOUNT_F_EMPTY_PATH | SKIFF_MOVE_MOUNT_T_EMPTY_PATH) != 0 {
                throw SysError("\(what): mount the read-only bind on \(JSON.quoted(path))")
            }
            return
        }
        // Kernels without open_tree (before 5.2): bind, then remount read-only.
        let t = Rootfs.fdPath(target)
        try mount(t, t, nil, SKIFF_MS_BIND | SKIFF_MS_REC, nil, what: "\(what): bind \(JSON.quoted(path))")
        try mount(nil, path, nil, SKIFF_MS_BIND | SKIFF_MS_REMOUNT | SKIFF_MS_RDONLY | lockedFlags(path), nil, what: "\(what): remount \(JSON.quoted(path)) read-only")
    }

    /// Masks a path: an empty read-only tmpfs over a directory, /dev/null over anything else.
    /// /dev/null is checked to really be the null device first (CVE-2025-31133: a container
    /// image may ship /dev/null as a symlink to a file it wants to expose).
    /// The masked path itself is opened once without following a final symlink, checked, and
    /// mounted on through its fd, so that it cannot be swapped between the check and the mount.
    func mask(_ path: String, what: String) throws {
        guard let target = try Rootfs.openNoFollow(path, what: what) else { return } // nothing there
        defer { close(target) }
        var st = stat()
        guard fstat(target, &st) == 0 else { throw SysError("\(what): stat \(JSON.quoted(path))") }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            // On the directory itself through the cwd (the container may have no /proc for
            // /proc/self/fd/N paths).
            try sys("\(what): enter \(JSON.quoted(path))") { fchdir(target) }
            defer { chdir("/") }
            try mount("tmpfs", ".", "tmpfs", SKIFF_MS_RDONLY, nil, what: "\(what): mask \(JSON.quoted(path))")
            return
        case S_IFLNK:
            throw RuntimeError("\(what): cannot mask \(JSON.quoted(path)): it is a symbolic link in the container; refusing to mask through it (CVE-2025-31133)")
        default:
            break
        }
        let null = try sys("\(what): open /dev/null") { skiff_open("/dev/null", SKIFF_O_PATH | O_NOFOLLOW | O_CLOEXEC, 0) }
        defer { close(null) }
        var ns = stat()
        fstat(null, &ns)
        guard ns.st_mode & S_IFMT == S_IFCHR, skiff_major(UInt64(ns.st_rdev)) == 1, skiff_minor(UInt64(ns.st_rdev)) == 3 else {
            throw RuntimeError("\(what): cannot mask \(JSON.quoted(path)): /dev/null in the container is not the null device (it is \(Files.kindName(ns.st_mode))); refusing to mount it (CVE-2025-31133)")
        }
        try Rootfs.bindFD(null, onto: target, what: "\(what): mask \(JSON.quoted(path))")
    }

    /// A bind mount of the file `source` onto the file `target`, both given as fds: a detached
    /// copy (open_tree) moved onto the target (move_mount), which needs no /proc; through
    /// /proc/self/fd/N on kernels before 5.2.
    static func bindFD(_ source: Int32, onto target: Int32, what: String) throws {
        let tree = skiff_open_tree(source, "", SKIFF_OPEN_TREE_CLONE | UInt32(SKIFF_AT_EMPTY_PATH) | UInt32(O_CLOEXEC))
        if tree < 0 {
            if Glibc.mount(fdPath(source), fdPath(target), nil, SKIFF_MS_BIND, nil) != 0 { throw SysError(what) }
            return
        }
        defer { close(tree) }
        if skiff_move_mount(tree, "", target, "", SKIFF_MOVE_MOUNT_F_EMPTY_PATH | SKIFF_MOVE_MOUNT_T_EMPTY_PATH) != 0 {
            throw SysError(what)
        }
    }
}
