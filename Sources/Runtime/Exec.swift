import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec
import Seccomp

/// What `exec` was asked to run.
public struct ExecOptions {
    public var id: String
    public var process: OCISpec.Process
    public var consoleSocket: String?
    public var detach = false
    public var pidFile: String?
    public var preserveFds = 0
    /// A sub-cgroup of the container's (`--cgroup`), relative to its cgroup.
    public var subCgroup: String?
    public var ignorePaused = false
    /// Do not become a child subreaper (processes the exec'd one leaves are not reaped here).
    public var noSubreaper = false

    public init(id: String, process: OCISpec.Process) {
        self.id = id
        self.process = process
    }
}

/// `exec`: a new process in a running container. It joins every namespace of the container's
/// init (those that differ from skiff's own), the container's cgroup, and gets the identity
/// and capabilities its process config says. Same process tree as create: stage 1 joins the
/// namespaces and forks the process, which lands in the container's pid namespace.
public enum Exec {
    /// The process config of a container (from its state), the base of `exec` without -p.
    public static func baseProcess(_ id: String, store: StateStore) throws -> OCISpec.Process {
        let state = try store.loadWithSpec(id)
        guard let raw = state.process else {
            throw RuntimeError("container \(JSON.quoted(id)) has no process config in its state; use `exec --process FILE`")
        }
        return try OCISpec.Process(from: Node(raw, path: "process"))
    }

    public static func run(_ o: ExecOptions, store: StateStore) throws -> Int32 {
        let state = try store.loadWithSpec(o.id)
        switch state.status {
        case .running, .created: break
        case .paused where o.ignorePaused: break
        case .paused: throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): it is paused (resume it, or pass --ignore-paused)")
        case .stopped: throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): container not running")
        case .creating: throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): it is still being created")
        }
        let p = o.process
        do {
            try Support.checkProcess(p, path: "process")
            if p.args.isEmpty { throw DecodeError(path: "process.args", "is empty: name the program to run") }
            if !p.cwd.hasPrefix("/") { throw DecodeError(path: "process.cwd", "\(JSON.quoted(p.cwd)) must be an absolute path") }
            if p.terminal && o.consoleSocket == nil && o.detach {
                throw DecodeError(path: "process.terminal", "a detached exec with a terminal needs --console-socket")
            }
        } catch let e as DecodeError {
            throw RuntimeError("exec process: \(e)")
        }
        for name in ProcessSetup.unknownCapabilities(p.capabilities) {
            Log.warn("process.capabilities: unknown capability \(JSON.quoted(name)) ignored")
        }
        // The container's seccomp filter applies to exec'd processes too.
        var seccomp: SeccompFilters.Loaded? = nil
        if let raw = state.seccomp {
            do {
                let profile = try Seccomp(from: Node(raw, path: "linux.seccomp"))
                seccomp = SeccompFilters.Loaded(program: try SeccompFilters.compile(profile, path: "linux.seccomp", raw: raw), profile: profile,
                                                stateJSON: state.specState().serialized(), ociVersion: state.ociVersion)
            } catch {
                throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): its seccomp profile: \(error)")
            }
        }

        // The container's namespaces, as its init has them.
        var joins: [(type: NamespaceType, fd: Int32, index: Int)] = []
        defer { for j in joins { close(j.fd) } }
        for (i, t) in NamespaceType.allCases.enumerated() {
            let theirs = "/proc/\(state.pid)/ns/\(t.procName)"
            guard let a = Files.stat(theirs), let b = Files.stat("/proc/self/ns/\(t.procName)") else { continue }
            if a.st_ino == b.st_ino && a.st_dev == b.st_dev { continue }
            let fd = skiff_open(theirs, O_RDONLY | O_CLOEXEC, 0)
            if fd < 0 { throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): open \(theirs): \(SysError.text(errno))") }
            joins.append((t, fd, i))
        }
        // Re-check: the pid may have been recycled between the state check and the opens.
        guard Proc.isAlive(state.pid, startTime: state.startTime) else {
            throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): container not running")
        }

        var cgPath = state.cgroupPath
        if let sub = o.subCgroup, !sub.isEmpty {
            if sub.split(separator: "/").contains("..") { throw RuntimeError("--cgroup: \(JSON.quoted(sub)) must not contain \"..\"") }
            if sub.contains(":") {
                throw RuntimeError("--cgroup: \(JSON.quoted(sub)): the per-controller form CONTROLLER:PATH is not supported by skiff yet; give one sub-cgroup for all controllers")
            }
            cgPath = Files.clean(cgPath + "/" + sub)
        }
        let cg = Cgroup(path: cgPath)

        var consoleFD: Int32 = -1, relayFD: Int32 = -1
        if p.terminal {
            if let path = o.consoleSocket {
                consoleFD = try Console.connect(path)
            } else {
                var fds: [Int32] = [0, 0]
                try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
                relayFD = fds[0]
                consoleFD = fds[1]
            }
        }
        defer {
            if consoleFD >= 0 { close(consoleFD) }
            if relayFD >= 0 { close(relayFD) }
        }
        if !o.detach && !o.noSubreaper { _ = skiff_prctl(SKIFF_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

        let (parentEnd, childEnd) = try SyncChannel.pair()
        defer { parentEnd.close() }
        let inUserNS = joins.contains { $0.type == .user }
        // The child joins the cgroup itself (see Joiner: no 7 to 17 ms wait in the kernel),
        // after the initial CPU affinity if there is one.
        // A rootless container may have no cgroup (the user could not create it).
        let noCgroup = state.hasNoCgroup
        if noCgroup, let sub = o.subCgroup, !sub.isEmpty {
            throw RuntimeError("--cgroup: container \(JSON.quoted(o.id)) has no cgroup (a rootless container whose user may not create one)")
        }
        var joiner = Joiner()
        if !noCgroup {
            do { joiner = try cg.joiner() } catch let e as SysError {
                throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): \(e)")
            }
        }
        defer { joiner.close() }
        if o.process.execCPUAffinity?.initialCPUs != nil { joiner.useClone3 = false }
        let stage1 = joiner.fork()
        if stage1 == 0 {
            parentEnd.close()
            if relayFD >= 0 { close(relayFD) }
            stage1Child(o, joins: joins, channel: childEnd, consoleFD: consoleFD, inUserNS: inUserNS, seccomp: seccomp, cgroup: joiner)
        }
        childEnd.close()
        if stage1 < 0 { throw SysError("fork") }
        Fault.point("exec.forked")
        var pid: pid_t = 0
        do {
            if !noCgroup {
                do { try joiner.finish(pid: stage1) } catch let e as SysError {
                    throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): \(e)")
                }
            }
            joiner.close()
            try parentEnd.send(.go)
            let first = try parentEnd.receive()
            if case .error(let text)? = first, text.hasPrefix(Exec.joinFailure) {
                throw RuntimeError("cannot exec in container \(JSON.quoted(o.id)): " + String(text.dropFirst(Exec.joinFailure.count)))
            }
            guard case .initPid(let p)? = first else {
                throw RuntimeError("exec: the process exited during setup")
            }
            pid = p
            Fault.point("exec.pid")
            var st: Int32 = 0
            while waitpid(stage1, &st, 0) < 0 && errno == EINTR {}
            // Errors until the exec; EOF (the close-on-exec channel) means it happened.
            waiting: while true {
                let (msg, passedFD) = try parentEnd.receiveWithFD()
                switch msg {
                case .none: break waiting
                case .seccompFD?:
                    guard passedFD >= 0, let s = seccomp else { throw RuntimeError("exec: unexpected seccomp fd") }
                    try SeccompFilters.sendToListener(passedFD, profile: s.profile, pid: pid, state: state.specState(), ociVersion: state.ociVersion)
                case .error(let text)?: throw RuntimeError(text)
                case let other?: throw RuntimeError("exec: unexpected message \(other)")
                }
            }
        } catch {
            kill(stage1, SIGKILL)
            var st: Int32 = 0
            waitpid(stage1, &st, 0)
            if pid > 0 { kill(pid, SIGKILL); Container.waitGone(pid, startTime: nil) }
            throw error
        }
        if let f = o.pidFile {
            do { try Files.writeAtomic(Files.absolute(f), "\(pid)", mode: 0o644) } catch {
                throw RuntimeError("--pid-file: cannot write \(q(f)): \(error)")
            }
        }
        if o.detach { return 0 }
        if relayFD >= 0 {
            close(consoleFD)
            consoleFD = -1
            var master: Int32 = -1
            var name = [UInt8](repeating: 0, count: 256)
            guard skiff_recv_fd(relayFD, &master, &name, name.count) > 0, master >= 0 else {
                throw RuntimeError("process.terminal: the exec process did not send its terminal")
            }
            return TerminalRelay.run(master: master, pid: pid)
        }
        return Container.waitForeground(pid: pid)
    }

    /// Marks a failed cgroup join in the stage 1 child's error text.
    static let joinFailure = "\u{1}cgroup\u{1}"

    static func stage1Child(_ o: ExecOptions, joins: [(type: NamespaceType, fd: Int32, index: Int)], channel: SyncChannel, consoleFD: Int32, inUserNS: Bool, seccomp: SeccompFilters.Loaded?, cgroup: Joiner) -> Never {
        var cgroup = cgroup
        do {
            Hardening.hideFromContainer()
            try Scheduling.setAffinity(o.process.execCPUAffinity?.initialCPUs, field: "process.execCPUAffinity.initial")
            // Through the host's /proc, before any namespace is joined (inherited by the fork).
            if let adj = o.process.oomScoreAdj {
                do { try Hardening.writeProc("oom_score_adj", String(adj), what: "process.oomScoreAdj", selfDir: true) } catch let e as ProcWriteError {
                    throw RuntimeError("process.oomScoreAdj: cannot set \(adj): \(e.reason)")
                }
            }
            try channel.expect(.go, during: "exec setup")
            if let e = cgroup.joinSelf() {
                try? channel.send(.error(joinFailure + e.description))
                _exit(1)
            }
            cgroup.close()
            // In the container's cgroup now.
            try Scheduling.setAffinity(o.process.execCPUAffinity?.finalCPUs, field: "process.execCPUAffinity.final")
            try NamespacePlan.join(joins)
            if inUserNS { try NamespacePlan.becomeRoot(what: "exec") }
            Fault.point("exec.joined")
            let pid = skiff_fork_sibling()
            if pid == 0 { process(o, channel: channel, consoleFD: consoleFD, inUserNS: inUserNS, seccomp: seccomp) }
            if pid < 0 { throw SysError("fork the exec process") }
            try channel.send(.initPid(pid))
            _exit(0)
        } catch {
            try? channel.send(.error("\(error)"))
            _exit(1)
        }
    }

    /// The exec'd process: in every namespace of the container; its root is the container's
    /// (setns into the mount namespace moved it there).
    static func process(_ o: ExecOptions, channel: SyncChannel, consoleFD: Int32, inUserNS: Bool, seccomp: SeccompFilters.Loaded?) -> Never {
        do {
            let p = o.process
            if chdir("/") != 0 { throw SysError("exec: chdir to the container's root") }
            if p.terminal {
                let pty = try Console.open(dirFD: AT_FDCWD, ptmx: "/dev/ptmx", size: p.consoleSize)
                if fchown(pty.slave, p.user.uid, p.user.gid) != 0 { throw SysError("process.terminal: give the pty to uid \(p.user.uid)") }
                try Console.send(master: pty.master, name: pty.name, over: consoleFD)
                close(pty.master)
                close(consoleFD)
                setsid()
                try Console.attach(slave: pty.slave)
            }
            try ProcessSetup.applyRlimits(p.rlimits)
            try Scheduling.applyProcess(p)
            let program = try ProcessSetup.lookup(p.args[0], env: p.env)
            if let s = seccomp, s.program.needsNotify { try SeccompFilters.loadEarly(s.program, channel: channel) }
            try ProcessSetup.execProcess(p, program: program, inUserNS: inUserNS, preserveFds: o.preserveFds, keepFD: -1, seccomp: seccomp)
        } catch {
            try? channel.send(.error("\(error)"))
            _exit(127)
        }
    }
}
