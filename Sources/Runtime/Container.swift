import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// Operations on an existing container: start, kill, delete, and waiting for it.
public enum Container {
    /// `start`: runs the user program of a created container, then the poststart hooks.
    public static func start(_ id: String, store: StateStore) throws {
        try store.locked(id, "start") { try startLocked(id, store: store) }
    }

    static func startLocked(_ id: String, store: StateStore) throws {
        var state = try store.loadWithSpec(id)
        switch state.status {
        case .created: break
        case .stopped: throw RuntimeError("cannot start container \(JSON.quoted(id)): it has stopped (delete it and create it again)")
        case .running, .paused: throw RuntimeError("cannot start container \(JSON.quoted(id)): it is already running")
        case .creating: throw RuntimeError("cannot start container \(JSON.quoted(id)): it is still being created")
        }
        let dir = store.dir(id)
        let conn: Int32
        do { conn = try StartSocket.connect(dir: dir) } catch {
            throw RuntimeError("cannot start container \(JSON.quoted(id)): its init process is not waiting for start (\(error))")
        }
        defer { close(conn) }
        Fault.point("start.connected")
        var one: UInt8 = 1
        guard write(conn, &one, 1) == 1 else {
            throw RuntimeError("cannot start container \(JSON.quoted(id)): \(SysError("signal the init process"))")
        }
        // EOF alone: the program was exec'd. Text first: why it could not be.
        let reply = (try? Files.readAll(fd: conn, limit: 65536)) ?? []
        unlink(dir + "/" + StartSocket.name)
        if !reply.isEmpty {
            var text = String(decoding: reply, as: UTF8.self)
            if text.hasPrefix(Init.hookFailurePrefix) {
                text.removeFirst(Init.hookFailurePrefix.count)
                destroyAfterHookFailure(id, store: store)
            }
            throw RuntimeError(text)
        }
        Fault.point("start.execed")
        state.phase = .running
        try store.save(state)
        Log.phase("started")
        Fault.point("start.saved")
        if let hooks = try decodeHooks(state) {
            do { try Hooks.run(hooks, .poststart, state: state.specState(status: .running)) } catch {
                destroyAfterHookFailure(id, store: store)
                throw RuntimeError("\(error)")
            }
        }
    }

    /// runtime.md: after a failed startContainer or poststart hook the container is stopped
    /// and destroyed, and the poststop hooks run.
    static func destroyAfterHookFailure(_ id: String, store: StateStore) {
        do { try delete(id, force: true, store: store) } catch { Log.warn("\(error)") }
    }

    static func decodeHooks(_ state: ContainerState) throws -> OCISpec.Hooks? {
        guard let raw = state.hooks else { return nil }
        return try OCISpec.Hooks(from: Node(raw, path: "hooks"))
    }

    /// `pause` and `resume`: freeze or thaw every process of the container.
    public static func setPaused(_ id: String, _ paused: Bool, store: StateStore) throws {
        try store.locked(id, paused ? "pause" : "resume") { try setPausedLocked(id, paused, store: store) }
    }

    static func setPausedLocked(_ id: String, _ paused: Bool, store: StateStore) throws {
        let state = try store.load(id)
        let status = state.status
        if paused {
            guard status == .running || status == .created else {
                throw RuntimeError("cannot pause container \(JSON.quoted(id)): \(status == .paused ? "it is already paused" : "container not running")")
            }
        } else if status != .paused {
            throw RuntimeError("cannot resume container \(JSON.quoted(id)): it is not paused (it is \(status.rawValue))")
        }
        if state.hasNoCgroup {
            throw RuntimeError("cannot \(paused ? "pause" : "resume") container \(JSON.quoted(id)): it has no cgroup (a rootless container whose user may not create one); pause needs the freezer of a cgroup")
        }
        do { try state.cgroup.setFrozen(paused) } catch {
            throw RuntimeError("cannot \(paused ? "pause" : "resume") container \(JSON.quoted(id)): \(error)")
        }
    }

    /// Every process of the container (from its cgroup).
    public static func pids(_ id: String, store: StateStore) throws -> [pid_t] {
        return try store.load(id).processes()
    }

    /// `kill`: a signal to the init process, or with `all` to every process of the container.
    public static func kill(_ id: String, signal: Int32, all: Bool, store: StateStore) throws {
        try store.locked(id, "kill") { try killLocked(id, signal: signal, all: all, store: store) }
    }

    static func killLocked(_ id: String, signal: Int32, all: Bool, store: StateStore) throws {
        let state = try store.load(id)
        let status = state.status
        if status == .stopped || status == .creating {
            if all {
                // Processes may outlive init (a shared pid namespace): still signal them.
                let cg = Cgroup(path: state.cgroupPath, created: state.cgroupCreated)
                let pids = cg.pids()
                if !pids.isEmpty { for p in pids { Glibc.kill(p, signal) }; return }
            }
            throw RuntimeError("cannot kill container \(JSON.quoted(id)): container not running")
        }
        if all && state.hasNoCgroup {
            for p in state.processes() where p != state.pid { Glibc.kill(p, signal) }
        } else if all {
            let cg = Cgroup(path: state.cgroupPath, created: state.cgroupCreated)
            cg.signalAll(signal)
        }
        if Glibc.kill(state.pid, signal) != 0 {
            if errno == ESRCH { throw RuntimeError("cannot kill container \(JSON.quoted(id)): container not running") }
            throw RuntimeError("cannot send \(Signals.name(signal)) to container \(JSON.quoted(id)): \(SysError.text(errno))")
        }
        // A frozen process only dies once thawed.
        if signal == SIGKILL && status == .paused { try? state.cgroup.setFrozen(false) }
    }

    /// `delete`: removes a stopped (or, with `force`, any) container: its processes, cgroup and
    /// state, then runs the poststop hooks.
    public static func delete(_ id: String, force: Bool, store: StateStore) throws {
        if force && !store.exists(id) {
            // Already gone (containerd's shim deletes twice): quietly done.
            try StateStore.validate(id: id)
            return
        }
        try store.locked(id, "delete") { try deleteLocked(id, force: force, store: store) }
    }

    static func deleteLocked(_ id: String, force: Bool, store: StateStore) throws {
        let state: ContainerState
        do { state = try store.loadWithSpec(id) } catch let e as RuntimeError {
            if force && store.exists(id) {
                // Damaged state: kill and remove what can still be read from it.
                try deleteDamaged(id, store: store)
                return
            }
            throw e
        }
        let status = state.status
        switch status {
        case .running, .paused, .created:
            // runtime.md: deleting a container that is not stopped MUST be an error.
            if !force {
                throw RuntimeError("cannot delete container \(JSON.quoted(id)): it is \(status.rawValue), not stopped (stop it with `skiff kill \(id) KILL`, or use `skiff delete --force \(id)`)")
            }
        case .creating:
            if !force { throw RuntimeError("cannot delete container \(JSON.quoted(id)): it is being created (use --force)") }
        case .stopped:
            break
        }
        let cg = Cgroup(path: state.cgroupPath.isEmpty ? "/" + id : state.cgroupPath, created: state.cgroupCreated)
        if status != .stopped && state.pid > 0 {
            Glibc.kill(state.pid, SIGKILL)
        }
        // Whatever else lives in the cgroup goes too (processes of `exec`, or left by a
        // shared pid namespace).
        if !state.cgroupCreated.isEmpty || state.systemdUnit != nil { cg.signalAll(SIGKILL) }
        if status == .paused { try? cg.setFrozen(false) }
        if state.pid > 0 { waitGone(state.pid, startTime: state.startTime) }
        Fault.point("delete.killed")
        if let unit = state.systemdUnit {
            do { try SystemdCgroup.stop(unit) } catch {
                if !force { throw RuntimeError("cannot delete container \(JSON.quoted(id)): \(error)") }
                Log.warn("\(error)")
            }
        }
        let failed = cg.destroy()
        if !failed.isEmpty {
            throw RuntimeError("cannot delete container \(JSON.quoted(id)): its cgroup \(q(failed[0])) still has processes")
        }
        Fault.point("delete.cgroups")
        try store.remove(id)
        Fault.point("delete.removed")
        if let hooks = try? decodeHooks(state) {
            Hooks.runWarning(hooks, .poststop, state: state.specState(status: .stopped))
        }
    }

    /// `delete --force` of a container whose state.json cannot be parsed (truncated, edited):
    /// the init pid and the cgroup come first in the file, so they usually survive; what they
    /// name is killed and removed, then the directory.
    static func deleteDamaged(_ id: String, store: StateStore) throws {
        let found = StateStore.salvage(Files.readIfPresent(store.dir(id) + "/state.json") ?? "")
        var cg: Cgroup? = nil
        if let path = found.cgroupPath, let created = found.cgroupCreated {
            cg = Cgroup(path: path.isEmpty ? "/" + id : path, created: created)
        }
        // Only a pid whose start time is known too: a recycled pid is never killed.
        var initFound = false
        if let pid = found.pid, pid > 1, let start = found.startTime, Proc.isAlive(pid, startTime: start) {
            initFound = true
            if cg == nil, let path = Cgroup.pathOf(pid: pid), path != "/" {
                // The cgroup is where the init is; only its leaf directories are removed (the
                // parents it may share with others are not known to be ours).
                let leaf = Cgroup(path: path)
                cg = Cgroup(path: path, created: leaf.dirs)
            }
            Glibc.kill(pid, SIGKILL)
            waitGone(pid, startTime: start)
        }
        var left: [String] = []
        if let cg {
            if !cg.created.isEmpty || found.systemdUnit != nil { cg.signalAll(SIGKILL); try? cg.setFrozen(false) }
        }
        if let unit = found.systemdUnit {
            do { try SystemdCgroup.stop(unit) } catch { Log.warn("\(error)") }
        }
        if let cg { left = cg.destroy() }
        try store.remove(id)
        if !initFound && found.pid.map({ $0 > 0 }) != false {
            Log.warn("container \(JSON.quoted(id)): its state was damaged and did not tell which process is its init; removed what it named, check for leftover processes")
        } else if cg == nil {
            Log.warn("container \(JSON.quoted(id)): its state was damaged and did not tell its cgroup; check for a leftover cgroup")
        } else if !left.isEmpty {
            Log.warn("container \(JSON.quoted(id)): its cgroup \(q(left[0])) could not be removed")
        }
    }

    /// Waits (up to about 5 s) until a process is gone or a zombie; reaps it if it is ours.
    static func waitGone(_ pid: pid_t, startTime: UInt64?) {
        var st: Int32 = 0
        for _ in 0..<2500 {
            if waitpid(pid, &st, WNOHANG) == pid { return }
            if !Proc.isAlive(pid, startTime: startTime) { return }
            usleep(2000)
        }
    }

    /// Waits for the init process of a container `run` started in the foreground (skiff is
    /// its subreaper), forwarding signals to it and reaping other orphans. Returns the exit
    /// status as a shell reports it: the code, or 128+N for a signal.
    public static func waitForeground(pid: pid_t) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        let forwarded: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT]
        for s in forwarded + [SIGCHLD] { sigaddset(&set, s) }
        sigprocmask(SIG_BLOCK, &set, nil)
        defer { sigprocmask(SIG_UNBLOCK, &set, nil) }
        while true {
            // Reap first: the process may already have exited.
            var st: Int32 = 0
            while true {
                let r = waitpid(-1, &st, WNOHANG)
                if r == pid {
                    if skiff_wifsignaled(st) != 0 { return 128 + skiff_wtermsig(st) }
                    return skiff_wexitstatus(st)
                }
                if r <= 0 { break }
            }
            if waitpid(pid, &st, WNOHANG) < 0 && errno == ECHILD { return 255 }
            var info = siginfo_t()
            let sig = sigwaitinfo(&set, &info)
            if sig > 0 && sig != SIGCHLD { Glibc.kill(pid, sig) }
        }
    }
}
