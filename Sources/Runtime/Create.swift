import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// `create`: the parent side. It claims the id, makes the cgroup, forks the container's
/// process tree, answers its requests (uid/gid maps, hooks), records the state, and returns
/// once the init process waits for `start`. On any failure it undoes everything: no state
/// directory, cgroup or process is left behind.
///
///     skiff create ──fork──> stage 1: joins/creates namespaces ──fork──> init (pid 1 in a new
///          │                 (exits once init exists)                   pid namespace): mounts,
///          └──── SOCK_SEQPACKET sync channel (SyncMessage) ─────────────  pivot_root, waits
public enum Lifecycle {
    /// A created container, and the pty master's socket when create made it (relayTerminal).
    public struct Created {
        public let state: ContainerState
        /// Receives the pty master (SCM_RIGHTS); -1 unless create made the console socket.
        public let terminal: Int32
    }

    public static func create(_ options: CreateOptions, store: StateStore) throws -> Created {
        Log.phase("parse")
        let config = try ContainerConfig.load(options)
        for name in ProcessSetup.unknownCapabilities(config.process.capabilities) {
            Log.warn("process.capabilities: unknown capability \(JSON.quoted(name)) ignored (not known to this kernel or libcap)")
        }
        let dropped = ProcessSetup.droppedAmbient(config.process.capabilities)
        if !dropped.isEmpty {
            // runc drops these without a word and `runc spec` configs all have them: a debug note.
            Log.debug("process.capabilities.ambient: \(dropped.joined(separator: ", ")) not raised: an ambient capability must also be inheritable and permitted")
        }
        try store.claim(options.id)
        Fault.point("create.claimed")
        var began = false
        do {
            return try store.locked(options.id, "create") {
                began = true
                return try createLocked(config, store: store)
            }
        } catch {
            if !began { try? store.remove(options.id) } // the lock could not be made (no space)
            throw error
        }
    }

    static func createLocked(_ config: ContainerConfig, store: StateStore) throws -> Created {
        let options = config.options
        var setup = Setup(config: config, store: store)
        do {
            return try setup.run()
        } catch let e as HookFailure {
            // runtime.md: a failed prestart/createRuntime/createContainer hook destroys the
            // container (step 12), then the poststop hooks run (step 13).
            setup.undo()
            var state = ContainerState(id: options.id, bundle: config.bundle, rootfs: config.rootfs,
                                       ociVersion: config.spec.ociVersion, annotations: config.spec.annotations)
            state.phase = .stopped
            Hooks.runWarning(config.spec.hooks, .poststop, state: state.specState(status: .stopped))
            throw RuntimeError(e.description)
        } catch {
            setup.undo()
            throw error
        }
    }

    /// One `create` in progress, with what it has made so far (for `undo`).
    struct Setup {
        let config: ContainerConfig
        let store: StateStore
        var cgroup: Cgroup?
        /// The systemd scope, once systemd made it (--systemd-cgroup).
        var scope: String?
        var stage1: pid_t = 0
        var initPid: pid_t = 0
        var listenFD: Int32 = -1

        init(config: ContainerConfig, store: StateStore) {
            self.config = config
            self.store = store
        }

        mutating func run() throws -> Created {
            let id = config.options.id
            var state = ContainerState(id: id, bundle: config.bundle, rootfs: config.rootfs,
                                       ociVersion: config.spec.ociVersion, annotations: config.spec.annotations)
            state.cgroupPath = config.cgroupPath

            // How the user namespace's maps get written: checked before anything exists
            // (an unprivileged user may need newuidmap/newgidmap).
            let linux = config.spec.linux ?? Linux()
            let mapWriter = config.plan.isNew(.user) ? try IDMapWriter(uid: linux.uidMappings, gid: linux.gidMappings) : nil

            Log.phase("cgroups")
            let systemd = try SystemdCgroup.connect(config)
            var cg = Cgroup(path: config.cgroupPath, layout: config.cgroupLayout)
            // Without a cgroup only in rootless mode, when the user may not create one.
            var hasCgroup = true
            if systemd == nil { hasCgroup = try makeCgroup(&cg, &state) }

            listenFD = try StartSocket.listen(dir: store.dir(id))
            let (parentEnd, childEnd) = try SyncChannel.pair()
            defer { parentEnd.close() }
            let nsFDs = try config.plan.openJoined()
            var consoleFD: Int32 = -1, relayEnd: Int32 = -1
            if config.process.terminal {
                if let path = config.options.consoleSocket {
                    consoleFD = try Console.connect(path)
                } else {
                    var fds: [Int32] = [0, 0]
                    try sys("socketpair for the terminal") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
                    (relayEnd, consoleFD) = (fds[0], fds[1])
                }
            }
            defer { if consoleFD >= 0 { close(consoleFD) } }
            var handedOver = false
            defer { if !handedOver && relayEnd >= 0 { close(relayEnd) } }

            // Idmapped mounts: made here, or once the container's user namespace exists.
            var mountFDs: [Int: Int32] = [:]
            defer { for (_, fd) in mountFDs { close(fd) } }
            if mapWriter == nil && !IdmappedMounts.indexes(config).isEmpty {
                let userNS = nsFDs.first { $0.type == .user }?.fd ?? -1
                mountFDs = try IdmappedMounts.prepare(config, containerUserNS: userNS)
            }

            // cgroupfs: the child joins the cgroup itself (see Joiner: forked into the v2
            // directory, writes "0" to each v1 tasks file; no 7 to 17 ms wait in the kernel).
            var joiner = Joiner()
            let selfJoin = systemd == nil && hasCgroup
            if selfJoin {
                do { joiner = try cg.joiner() } catch let e as SysError { throw RuntimeError("linux.cgroupsPath: \(e)") }
            }
            defer { joiner.close() }
            Log.phase("fork")
            let pid = selfJoin ? joiner.fork() : skiff_fork()
            if pid == 0 {
                parentEnd.close()
                Init.stage1(config: config, channel: childEnd, joins: nsFDs, listenFD: listenFD, consoleFD: consoleFD, mountFDs: mountFDs, cgroup: joiner)
            }
            childEnd.close()
            for f in nsFDs { close(f.fd) }
            for (_, fd) in mountFDs { close(fd) }
            mountFDs = [:]
            if pid < 0 { throw SysError("fork the container process") }
            stage1 = pid
            Fault.point("create.forked")
            if let systemd {
                // The scope exists with the process in it; then the limits and the hierarchies
                // systemd left out, all before the process runs anything. The unit is ours (to
                // stop on failure, recorded for delete) only once systemd made it: the name may
                // be another container's. (A create killed in between leaves a scope that systemd
                // removes by itself once its process is gone.)
                try SystemdCgroup.start(systemd, config: config, pid: pid)
                scope = config.systemdUnit?.unit
                state.systemdUnit = scope
                hasCgroup = try makeCgroup(&cg, &state)
            }

            if selfJoin {
                do { try joiner.finish(pid: pid) } catch let e as SysError { throw RuntimeError("linux.cgroupsPath: \(e)") }
                joiner.close()
            } else if hasCgroup {
                do { try cg.add(pid: pid) } catch let e as SysError { throw RuntimeError("linux.cgroupsPath: \(e)") }
            }
            do { try parentEnd.send(.go) } catch let e as SysError where e.errno == EPIPE || e.errno == ECONNRESET {
                throw RuntimeError("the container process exited during setup\(exitDescription())")
            }

            Log.phase("namespaces")
            loop: while true {
                let (received, passedFD) = try parentEnd.receiveWithFD()
                guard let msg = received else {
                    throw RuntimeError("the container process exited during setup\(exitDescription())")
                }
                switch msg {
                case .seccompFD:
                    guard passedFD >= 0, let profile = config.spec.linux?.seccomp else {
                        throw RuntimeError("linux.seccomp: the container process sent no notify fd")
                    }
                    try SeccompFilters.sendToListener(passedFD, profile: profile, pid: state.pid,
                                                      state: state.specState(status: .creating), ociVersion: config.spec.ociVersion)
                case .needMappings:
                    try mapWriter?.write(pid: stage1, uid: linux.uidMappings, gid: linux.gidMappings)
                    try sendIdmappedMounts(to: parentEnd)
                    try parentEnd.send(.mappingsDone)
                case .initPid(let p):
                    initPid = p
                    var st: Int32 = 0
                    while waitpid(stage1, &st, 0) < 0 && errno == EINTR {}
                    stage1 = 0
                    state.pid = p
                    state.startTime = Proc.startTime(p) ?? 0
                    if let adj = config.process.oomScoreAdj {
                        do { try Files.write("/proc/\(p)/oom_score_adj", String(adj), flags: O_WRONLY) } catch let e as SysError {
                            throw RuntimeError("process.oomScoreAdj: cannot set \(adj): \(SysError.text(e.errno))")
                        }
                    }
                    // The init's pid, recorded at once for `delete --force` after a crash.
                    try store.save(state)
                    Fault.point("create.pid")
                    try NetDevices.move(config.spec.linux?.netDevices ?? [], intoNetnsOf: p)
                    try parentEnd.send(.pidKnown(state.specState(status: .creating).serialized()))
                case .runHooks:
                    Log.phase("hooks prestart, createRuntime")
                    let s = state.specState(status: .creating)
                    Fault.point("create.hooks")
                    try Hooks.run(config.spec.hooks, .prestart, state: s)
                    try Hooks.run(config.spec.hooks, .createRuntime, state: s)
                    try parentEnd.send(.hooksDone)
                case .ready:
                    break loop
                case .error(let text):
                    throw RuntimeError(text)
                case .hookFailed(let text):
                    throw HookFailure(description: text)
                default:
                    throw RuntimeError("unexpected message \(msg) from the container process")
                }
            }
            close(listenFD)
            listenFD = -1

            state.phase = .created
            state.hooks = config.rawHooks
            state.process = config.rawProcess
            state.seccomp = config.rawSeccomp
            state.useTerminal = config.process.terminal
            Fault.point("create.ready")
            try store.save(state) // writes spec.json first
            Fault.point("create.saved")
            if let pidFile = config.options.pidFile {
                let path = Files.absolute(pidFile)
                do { try Files.writeAtomic(path, "\(state.pid)", mode: 0o644) } catch {
                    throw RuntimeError("--pid-file: cannot write \(q(path)): \(error)")
                }
            }
            Log.phase("created")
            handedOver = true
            return Created(state: state, terminal: relayEnd)
        }

        /// Creates the cgroup's directories (those that do not exist yet: with systemd, the
        /// hierarchies the scope does not have) and writes linux.resources into them.
        mutating func makeCgroup(_ cg: inout Cgroup, _ state: inout ContainerState) throws -> Bool {
            // Recorded before they exist: a create killed from here on leaves a state that
            // `delete --force` cleans up (it removes only the directories that are empty).
            state.cgroupCreated = cg.missing()
            try store.save(state)
            Fault.point("create.recorded")
            cgroup = cg
            let hasCgroup = try Setup.createCgroup(&cg, config: config)
            cgroup = cg
            state.cgroupCreated = cg.created
            Fault.point("create.cgroup")
            guard hasCgroup else { return false }
            try CgroupOwner.apply(cg, config: config)
            cg.enableV2Controllers()
            CgroupResources.initCpuset(cg)
            if var r = config.spec.linux?.resources {
                if config.options.rootless && !r.devices.isEmpty {
                    // A user namespace cannot make device nodes, and an unprivileged user cannot
                    // attach a device filter: the rules are left out, as runc does.
                    Log.debug("rootless: linux.resources.devices not applied")
                    r.devices = []
                }
                let devices = (config.spec.linux?.devices ?? []).filter { $0.type != "p" }.map { DeviceRule(allow: true, type: $0.type == "u" ? "c" : $0.type, major: $0.major, minor: $0.minor, access: "rwm") }
                do { try CgroupResources.apply(r, to: cg, containerDevices: devices) } catch let e as RuntimeErrorText { throw RuntimeError(e.description) }
            }
            return true
        }

        /// How the container process that went away ended, and the likely cause when the
        /// kernel killed it: a memory limit too low for the setup itself.
        mutating func exitDescription() -> String {
            var st: Int32 = 0
            let child = stage1 > 0 ? stage1 : initPid
            guard child > 0 else { return "" }
            var r: pid_t = 0
            for _ in 0..<500 { // the process may not be reaped-ready the instant its socket closes
                r = waitpid(child, &st, WNOHANG)
                if r != 0 { break }
                usleep(1000)
            }
            guard r == child else { return "" }
            if stage1 > 0 { stage1 = 0 } else { initPid = 0 }
            guard skiff_wifsignaled(st) != 0 else { return " (exit status \(skiff_wexitstatus(st)))" }
            let sig = skiff_wtermsig(st)
            var text = " (killed by \(Signals.name(sig))"
            if sig == SIGKILL, let limit = config.spec.linux?.resources?.memory?.limit, limit > 0 {
                let oom = cgroup.map { CgroupStats.oomKills($0) } ?? 0
                text += oom > 0 ? ": the kernel's OOM killer, linux.resources.memory.limit \(limit) is too low for the container's setup"
                                : ": perhaps the OOM killer; is linux.resources.memory.limit \(limit) too low?"
            }
            return text + ")"
        }

        /// The idmapped mounts, made once the container's user namespace (whose mappings a
        /// bare `idmap` uses) has its maps, go to stage 1, whose init attaches them.
        func sendIdmappedMounts(to channel: SyncChannel) throws {
            guard !IdmappedMounts.indexes(config).isEmpty else { return }
            let userNS = try sys("open the container's user namespace") { skiff_open("/proc/\(stage1)/ns/user", O_RDONLY | O_CLOEXEC, 0) }
            defer { close(userNS) }
            let fds = try IdmappedMounts.prepare(config, containerUserNS: userNS)
            defer { for (_, fd) in fds { close(fd) } }
            for (i, fd) in fds { try channel.send(.mountFD(Int32(i)), fd: fd) }
        }

        /// The container's cgroup, or (rootless) none when the user may not create it: then
        /// resource limits are an error, as in runc, since nothing could apply them.
        static func createCgroup(_ cg: inout Cgroup, config: ContainerConfig) throws -> Bool {
            do {
                try cg.create()
                return true
            } catch let e as SysError where config.options.rootless && [EACCES, EPERM, EROFS].contains(e.errno) {
                let limits = config.spec.linux?.resources.map(Rootless.limitFields) ?? []
                if !limits.isEmpty {
                    throw RuntimeError("linux.resources: \(limits.joined(separator: ", ")) limits need a cgroup, and this unprivileged user may not create \(q(config.cgroupPath)) (\(e)); remove linux.resources (as `skiff spec --rootless` does) or delegate a cgroup to the user and set linux.cgroupsPath inside it")
                }
                if let p = config.spec.linux?.cgroupsPath, !p.isEmpty {
                    Log.warn("linux.cgroupsPath: \(JSON.quoted(p)) not used: this unprivileged user may not create it (\(e)); the container runs without a cgroup")
                } else {
                    Log.debug("rootless: no cgroup for the container (\(e))")
                }
                return false
            }
        }

        /// Undoes a failed create: kills what was forked, removes the cgroup and the state dir.
        func undo() {
            if listenFD >= 0 { close(listenFD) }
            if stage1 > 0 {
                kill(stage1, SIGKILL)
                var st: Int32 = 0
                while waitpid(stage1, &st, 0) < 0 && errno == EINTR {}
            }
            if initPid > 0 {
                kill(initPid, SIGKILL)
                Container.waitGone(initPid, startTime: nil)
            }
            if let cg = cgroup {
                cg.signalAll(SIGKILL)
            }
            if let scope {
                do { try SystemdCgroup.stop(scope) } catch { Log.warn("\(error)") }
            }
            cgroup?.destroy()
            try? store.remove(config.options.id)
        }
    }
}

/// The handshake between `create` and `start`: the init process waits in accept(2) on a unix
/// socket in the state directory. `start` connects and sends one byte; init execs the user
/// program, and the close-on-exec socket tells `start` it happened (EOF), or init writes why
/// it could not (a message, then EOF).
enum StartSocket {
    static let name = "exec.sock"

    /// Binds `<dir>/exec.sock` through /proc/self/fd/N, so the 108-byte sun_path limit does not
    /// limit the length of --root.
    static func listen(dir: String) throws -> Int32 {
        let s = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            let dfd = try sys("open \(q(dir))") { skiff_open(dir, SKIFF_O_PATH | O_DIRECTORY | O_CLOEXEC, 0) }
            defer { close(dfd) }
            _ = try withAddress("/proc/self/fd/\(dfd)/\(name)") { addr, len in
                try sys("bind the start socket in \(q(dir))") { bind(s, addr, len) }
            }
            try sys("listen on the start socket") { Glibc.listen(s, 1) }
        } catch {
            close(s)
            throw error
        }
        return s
    }

    static func connect(dir: String) throws -> Int32 {
        let s = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        let dfd = skiff_open(dir, SKIFF_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
        defer { if dfd >= 0 { close(dfd) } }
        do {
            _ = try withAddress("/proc/self/fd/\(dfd)/\(name)") { addr, len in
                try sys("connect") { Glibc.connect(s, addr, len) }
            }
        } catch {
            close(s)
            throw error
        }
        return s
    }

    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) throws -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.prefix(p.count - 1).enumerated() { p[i] = b }
        }
        return try withUnsafePointer(to: &addr) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
