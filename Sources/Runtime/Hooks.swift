import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// Runs OCI hooks: the state JSON on stdin, `args` and `env` exactly as configured, and a
/// timeout. A failing hook's output is part of the error, so the user sees why it failed.
enum Hooks {
    enum Kind: String { case prestart, createRuntime, createContainer, startContainer, poststart, poststop }

    static func list(_ hooks: Hooks_?, _ kind: Kind) -> [Hook] {
        guard let h = hooks else { return [] }
        switch kind {
        case .prestart: return h.prestart
        case .createRuntime: return h.createRuntime
        case .createContainer: return h.createContainer
        case .startContainer: return h.startContainer
        case .poststart: return h.poststart
        case .poststop: return h.poststop
        }
    }

    /// Runs every hook of `kind` in order; the first failure stops and throws.
    static func run(_ hooks: Hooks_?, _ kind: Kind, state: JSON) throws {
        let all = list(hooks, kind)
        if all.isEmpty { return }
        let stdin = state.serialized()
        for (i, h) in all.enumerated() {
            do { try runOne(h, stdin: stdin, what: "hooks.\(kind.rawValue)[\(i)]") } catch {
                throw HookFailure(description: "\(error)")
            }
        }
    }

    /// For poststart and poststop, where a failure is a warning and the rest still run.
    static func runWarning(_ hooks: Hooks_?, _ kind: Kind, state: JSON) {
        let stdin = state.serialized()
        for (i, h) in list(hooks, kind).enumerated() {
            do { try runOne(h, stdin: stdin, what: "hooks.\(kind.rawValue)[\(i)]") } catch {
                Log.warn("\(error)")
            }
        }
    }

    static func runOne(_ hook: Hook, stdin: String, what: String) throws {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        try sys("\(what): pipe") { skiff_pipe2(&inPipe, O_CLOEXEC) }
        try sys("\(what): pipe") { skiff_pipe2(&outPipe, O_CLOEXEC) }
        let argv = hook.args.isEmpty ? [hook.path] : hook.args
        let cArgv = CStrings(argv), cEnv = CStrings(hook.env)
        let pid = skiff_fork()
        if pid == 0 {
            // Its own process group, so that a timeout kills what it started too.
            setpgid(0, 0)
            Signals.resetForExec()
            dup2(inPipe[0], 0)
            dup2(outPipe[1], 1)
            dup2(outPipe[1], 2)
            execve(hook.path, cArgv.pointers, cEnv.pointers)
            let msg = "cannot execute \(hook.path): \(SysError.text(errno))\n"
            _ = msg.withCString { write(2, $0, strlen($0)) }
            _exit(127)
        }
        close(inPipe[0]); close(outPipe[1])
        if pid < 0 { close(inPipe[1]); close(outPipe[0]); throw SysError("\(what): fork") }
        setpgid(pid, pid) // also from here, so that a kill before the child ran setpgid reaches the group

        var output: [UInt8] = []
        let deadline = hook.timeout.map { Clock.monotonicNanos() + UInt64($0) * 1_000_000_000 } // at most 2^32 s (Hook.init)
        func remainingMs() -> Int32 {
            guard let deadline else { return -1 }
            let now = Clock.monotonicNanos()
            return now >= deadline ? 0 : Int32(min((deadline - now) / 1_000_000 + 1, 1_000_000))
        }
        var timedOut = false
        // Write the state to its stdin and collect its output until it closes it, both within the
        // timeout: a hook that never reads a state larger than a pipe must not block skiff. A hook
        // that does not read stdin at all gets EPIPE (skiff ignores SIGPIPE): fine.
        let input = Array(stdin.utf8)
        var written = 0
        var inFd = inPipe[1]
        _ = skiff_fcntl_int(inFd, F_SETFL, skiff_fcntl_int(inFd, F_GETFL, 0) | O_NONBLOCK)
        if input.isEmpty { close(inFd); inFd = -1 }
        var buf = [UInt8](repeating: 0, count: 4096)
        outer: while true {
            var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inFd, events: Int16(POLLOUT), revents: 0)]
            let r = poll(&fds, 2, remainingMs())
            if r == 0 { timedOut = true; break }
            if r < 0 { if errno == EINTR { continue }; break }
            if inFd >= 0 && fds[1].revents != 0 {
                let n = input.withUnsafeBytes { write(inFd, $0.baseAddress! + written, $0.count - written) }
                if n > 0 { written += n }
                if (n < 0 && errno != EAGAIN && errno != EINTR) || written == input.count { close(inFd); inFd = -1 }
            }
            if fds[0].revents != 0 {
                while true {
                    let n = read(outPipe[0], &buf, buf.count)
                    if n > 0 { if output.count < 8192 { output += buf[0..<n] }; break }
                    if n < 0 && errno == EINTR { continue }
                    break outer // EOF or error: the hook closed its output
                }
            }
        }
        if inFd >= 0 { close(inFd) }
        close(outPipe[0])
        // Then its exit (it may have handed its output to a daemon that keeps it open).
        var status: Int32 = 0
        while !timedOut {
            let r = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if remainingMs() == 0 { timedOut = true; break }
            if r == 0 { usleep(1000) }
        }
        if timedOut {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            throw RuntimeError("\(what): \(hook.path) did not finish within its timeout of \(hook.timeout!) s and was killed")
        }
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: " \n")
        let detail = text.isEmpty ? "" : ": \(text)"
        if skiff_wifexited(status) != 0 {
            let code = skiff_wexitstatus(status)
            if code != 0 { throw RuntimeError("\(what): \(hook.path) failed with exit status \(code)\(detail)") }
        } else if skiff_wifsignaled(status) != 0 {
            throw RuntimeError("\(what): \(hook.path) was killed by \(Signals.name(skiff_wtermsig(status)))\(detail)")
        }
    }
}

typealias Hooks_ = OCISpec.Hooks

/// NUL-terminated C string arrays for execve, built before fork.
final class CStrings {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int
    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: count + 1)
        for (i, s) in strings.enumerated() { pointers[i] = strdup(s) }
        pointers[count] = nil
    }
    deinit {
        for i in 0..<count { free(pointers[i]) }
        pointers.deallocate()
    }
}
