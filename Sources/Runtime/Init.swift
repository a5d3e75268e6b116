import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// The container's side of `create`, in forked children of skiff (no re-exec of the binary).
/// skiff is single-threaded, so Swift code is safe in the child after fork.
enum Init {
    /// Stage 1: enters the namespaces. Joins the ones given by path, creates the user namespace
    /// (the parent writes its maps), then unshares the rest and forks the init process, which is
    /// pid 1 of a new pid namespace and the first process of a new time namespace.
    static func stage1(config: ContainerConfig, channel: SyncChannel, joins: [(type: NamespaceType, fd: Int32, index: Int)], listenFD: Int32, consoleFD: Int32,
                       mountFDs: [Int: Int32], cgroup: Joiner) -> Never {
        StateStore.closeHeldLocks() // the init must not keep the container locked after create
        var mountFDs = mountFDs
        var cgroup = cgroup
        do {
            // An unprivileged parent writes the new user namespace's maps through /proc/PID (itself
            // or via newuidmap), which needs this process dumpable: a non-dumpable process's /proc
            // files belong to root. It hides once it is root in its namespace (becomeRoot).
            if geteuid() == 0 || !config.plan.isNew(.user) { Hardening.hideFromContainer() }
            Fault.point("init.stage1")
            try channel.expect(.go, during: "setup")
            if let e = cgroup.joinSelf() { throw RuntimeError("linux.cgroupsPath: \(e)") }
            cgroup.close()
            Log.phase("container: cgroup joined")
            try NamespacePlan.join(joins)
            let plan = config.plan
            if joins.contains(where: { $0.type == .user }) { try NamespacePlan.becomeRoot(what: "linux.namespaces") }
            if plan.isNew(.user) {
                try sys("create the user namespace (unshare CLONE_NEWUSER)") { skiff_unshare(SKIFF_CLONE_NEWUSER) }
                try channel.send(.needMappings)
                // Then the idmapped mounts (if any), then mappingsDone.
                waiting: while true {
                    let (msg, fd) = try channel.receiveWithFD()
                    switch msg {
                    case .mountFD(let i)? where fd >= 0: mountFDs[Int(i)] = fd
                    case .mappingsDone?: break waiting
                    case .error(let text)?: throw RuntimeError(text)
                    case nil: throw RuntimeError("the container process exited during user namespace setup")
                    case let other?: throw RuntimeError("unexpected message \(other) from the container process during user namespace setup")
                    }
                }
                try NamespacePlan.becomeRoot(what: "linux.uidMappings")
            }
            var flags: Int32 = 0
            for t in plan.new where t != .user { flags |= t.cloneFlag }
            if flags != 0 {
                if skiff_unshare(flags) != 0 {
                    let names = plan.new.filter { $0 != .user }.map(\.rawValue).joined(separator: ", ")
                    throw RuntimeError("linux.namespaces: cannot create the \(names) namespaces: \(SysError.text(errno))")
                }
            }
            Log.phase("container: namespaces created")
            if plan.isNew(.time), let offsets = config.spec.linux?.timeOffsets, !offsets.isEmpty {
                let text = offsets.map { "\($0.clock) \($0.secs) \($0.nanosecs)\n" }.joined()
                // In a new user namespace the file belongs to its root only while dumpable.
                if plan.has(.user) { _ = skiff_prctl(SKIFF_PR_SET_DUMPABLE, 1, 0, 0, 0) }
                defer { Hardening.hideFromContainer() }
                do { try Hardening.writeProc("timens_offsets", text, what: "linux.timeOffsets", selfDir: true) } catch let e as ProcWriteError {
                    throw RuntimeError("linux.timeOffsets: cannot set the clock offsets: \(e.reason)")
                }
            }
            let pid = skiff_fork_sibling()
            if pid == 0 { initProcess(config: config, channel: channel, listenFD: listenFD, consoleFD: consoleFD, mountFDs: mountFDs) }
            for (_, fd) in mountFDs { close(fd) }
            if pid < 0 { throw SysError("fork the container's init process") }
            try channel.send(.initPid(pid))
            _exit(0)
        } catch {
            try? channel.send(.error("\(error)"))
            _exit(1)
        }
    }

    /// The container's init: builds the rootfs, applies the container settings, reports ready,
    /// waits for `start`, then becomes the user program.
    static func initProcess(config: ContainerConfig, channel: SyncChannel, listenFD: Int32, consoleFD: Int32, mountFDs: [Int: Int32]) -> Never {
        var stateJSON = ""
        do {
            setsid()
            // A joined mount namespace is used as it is: setns already made its root ours.
            let ownMounts = !config.plan.join.contains { $0.type == .mount }
            var rootfs = Rootfs(config: config)
            Log.phase("container: mounts")
            rootfs.mountFDs = mountFDs
            if ownMounts { try rootfs.prepare() }
            var slave: Int32 = -1
            if config.process.terminal {
                slave = try rootfs.setUpConsole(socket: consoleFD, user: config.process.user, bindConsole: ownMounts)
            }
            switch try channel.receive() {
            case .pidKnown(let s)?: stateJSON = s
            case .error(let e)?: throw RuntimeError(e)
            default: throw RuntimeError("the parent went away during setup")
            }
            let hooks = config.spec.hooks
            if !(hooks?.prestart.isEmpty ?? true) || !(hooks?.createRuntime.isEmpty ?? true) {
                try channel.send(.runHooks)
                try channel.expect(.hooksDone, during: "prestart and createRuntime hooks")
            }
            do {
                try Hooks.run(hooks, .createContainer, state: containerView(stateJSON, status: "creating"))
            } catch let e as HookFailure {
                try? channel.send(.hookFailed(e.description))
                _exit(1)
            }
            Log.phase("container: pivot_root, sysctl, masked and read-only paths, rlimits")
            Fault.point("init.mounted")
            if ownMounts { try rootfs.pivot(noPivot: config.options.noPivot) }
            Fault.point("init.pivoted")
            // runc's order: hostname and sysctl while /proc/sys is writable, then the
            // read-only and masked paths, then rlimits.
            try ProcessSetup.applyNamespaceSettings(config)
            if ownMounts { try rootfs.finish() }
            try ProcessSetup.applyRlimits(config)
            try Scheduling.applyLinux(config.spec.linux)
            try Scheduling.applyProcess(config.process)
            if slave >= 0 { try Console.attach(slave: slave) }
            if !config.options.noNewKeyring && skiff_join_session_keyring(nil) < 0 && errno != ENOSYS {
                throw SysError("create a session keyring (try --no-new-keyring)")
            }
            let program = try ProcessSetup.lookup(config.process.args[0], env: config.process.env)
            try ProcessSetup.checkCapabilities(config.process.capabilities)
            if !Files.isDirectory(config.process.cwd) {
                throw RuntimeError("process.cwd: \(JSON.quoted(config.process.cwd)) is not a directory in the container")
            }
            if let program = config.seccomp, program.needsNotify {
                try SeccompFilters.loadEarly(program, channel: channel)
            }
            Log.phase("container: ready, waiting for start")
            Fault.point("init.ready")
            try channel.send(.ready)
            channel.close()
            waitForStart(config: config, listenFD: listenFD, program: program, stateJSON: stateJSON)
        } catch {
            try? channel.send(.error("\(error)"))
            _exit(1)
        }
    }

    /// Marks a startContainer hook failure in the text sent back to `start`.
    static let hookFailurePrefix = "\u{1}hook\u{1}"

    /// The state for hooks run in the container: status as given, pid as the container sees
    /// it (runc does the same).
    static func containerView(_ stateJSON: String, status: String) -> JSON {
        guard case .object(var members)? = try? JSONParser.parse(stateJSON) else { return .null }
        for i in members.indices {
            if members[i].0 == "status" { members[i].1 = .string(status) }
            if members[i].0 == "pid" { members[i].1 = .int(getpid()) }
        }
        return .object(members)
    }

    /// Blocks until `start` connects, then execs. Errors from here on go back to `start`.
    static func waitForStart(config: ContainerConfig, listenFD: Int32, program: String, stateJSON: String) -> Never {
        var conn: Int32 = -1
        while true {
            conn = skiff_accept4(listenFD, Int32(SOCK_CLOEXEC.rawValue))
            if conn < 0 { if errno == EINTR { continue }; _exit(1) }
            var b: UInt8 = 0
            if read(conn, &b, 1) == 1 && b == 1 { break }
            close(conn)
        }
        close(listenFD)
        func fail(_ text: String) -> Never {
            _ = try? Files.writeAll(fd: conn, text)
            _exit(1)
        }
        do {
            if let hooks = config.spec.hooks, !hooks.startContainer.isEmpty {
                do { try Hooks.run(hooks, .startContainer, state: containerView(stateJSON, status: "created")) } catch let e as HookFailure {
                    fail(Init.hookFailurePrefix + e.description)
                }
            }
            let seccomp = config.seccomp.map {
                SeccompFilters.Loaded(program: $0, profile: config.spec.linux!.seccomp!, stateJSON: stateJSON, ociVersion: config.spec.ociVersion)
            }
            try ProcessSetup.execProcess(config.process, program: program, inUserNS: config.plan.has(.user),
                                         preserveFds: config.options.preserveFds, keepFD: conn, seccomp: seccomp)
        } catch {
            fail("\(error)")
        }
    }
}

/// File descriptors at exec: only 0, 1, 2 and the `--preserve-fds` ones reach the user
/// program (CVE-2024-21626 leaked a host directory fd this way).
enum FDs {
    static func prepareForExec(preserve: Int, keep: Int32) throws {
        let first = 3 + max(0, preserve)
        if skiff_close_range(UInt32(first), UInt32.max, 4 /* CLOSE_RANGE_CLOEXEC */) != 0 {
            for name in Files.list("/proc/self/fd") {
                if let fd = Int32(name), fd >= first { _ = skiff_fcntl_int(fd, F_SETFD, FD_CLOEXEC) }
            }
        }
        for fd in 3..<Int32(first) where fd != keep {
            let flags = skiff_fcntl_int(fd, F_GETFD, 0)
            if flags >= 0 { _ = skiff_fcntl_int(fd, F_SETFD, flags & ~FD_CLOEXEC) }
        }
    }
}
