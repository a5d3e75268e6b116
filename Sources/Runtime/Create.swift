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

            Log.phase("cgroups")
            var cg = Cgroup(path: config.cgroupPath, layout: config.cgroupLayout)
            cgroup = cg
            try cg.create()
            cgroup = cg
            state.cgroupCreated = cg.created
            cg.enableV2Controllers()
            CgroupResources.initCpuset(cg)
            if let r = config.spec.linux?.resources {
                let devices = (config.spec.linux?.devices ?? []).filter { $0.type != "p" }.map { DeviceRule(allow: true, type: $0.type == "u" ? "c" : $0.type, major: $0.major, minor: $0.minor, access: "rwm") }
                do { try CgroupResources.apply(r, to: cg, containerDevices: devices) } catch let e as RuntimeErrorText { throw RuntimeError(e.description) }
            }

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

            // The child joins the cgroup itself (see Joiner: no 7 to 17 ms wait in the kernel).
            var joiner: Joiner
            do { joiner = try cg.joiner() } catch let e as SysError { throw RuntimeError("linux.cgroupsPath: \(e)") }
            defer { joiner.close() }
            Log.phase("fork")
            let pid = joiner.fork()
            if pid == 0 {
                parentEnd.close()
                Init.stage1(config: config, channel: childEnd, joins: nsFDs, listenFD: listenFD, consoleFD: consoleFD, cgroup: joiner)
            }
            childEnd.close()
            for f in nsFDs { close(f.fd) }
            if pid < 0 { throw SysError("fork the container process") }
            stage1 = pid

            do { try joiner.finish(pid: pid) } catch let e as SysError { throw RuntimeError("linux.cgroupsPath: \(e)") }
            joiner.close()
            try parentEnd.send(.go)

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
                    try writeMappings(pid: stage1)
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
                    try parentEnd.send(.pidKnown(state.specState(status: .creating).serialized()))
                case .runHooks:
                    Log.phase("hooks prestart, createRuntime")
                    let s = state.specState(status: .creating)
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
            try store.save(state) // writes spec.json first
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

        func exitDescription() -> String {
            var st: Int32 = 0
            guard stage1 > 0, waitpid(stage1, &st, WNOHANG) == stage1 else { return "" }
            if skiff_wifsignaled(st) != 0 { return " (killed by \(Signals.name(skiff_wtermsig(st))))" }
            return " (exit status \(skiff_wexitstatus(st)))"
        }

        /// uid_map and gid_map of the new user namespace, written from outside as the spec
        /// requires (only a process with privileges over the parent namespace may write them).
        func writeMappings(pid: pid_t) throws {
            let linux = config.spec.linux ?? Linux()
            do {
                try Files.write("/proc/\(pid)/uid_map", mappingText(linux.uidMappings), flags: O_WRONLY)
            } catch let e as SysError {
                throw RuntimeError("linux.uidMappings: the kernel refused \(JSON.quoted(mappingText(linux.uidMappings).trimmingCharacters(in: "\n"))): \(SysError.text(e.errno)) (ranges must not overlap and hostIDs must exist)")
            }
            do {
                try Files.write("/proc/\(pid)/gid_map", mappingText(linux.gidMappings), flags: O_WRONLY)
            } catch let e as SysError {
                throw RuntimeError("linux.gidMappings: the kernel refused \(JSON.quoted(mappingText(linux.gidMappings).trimmingCharacters(in: "\n"))): \(SysError.text(e.errno))")
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
                cg.destroy()
            }
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
