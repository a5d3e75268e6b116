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
        // The hook may not read stdin at all: ignore EPIPE (skiff ignores SIGPIPE).
        _ = try? Files.writeAll(fd: inPipe[1], stdin)
        close(inPipe[1])

        var output: [UInt8] = []
        let deadline = hook.timeout.map { Clock.monotonicNanos() + UInt64($0) * 1_000_000_000 } // at most 2^32 s (Hook.init)
        func remainingMs() -> Int32 {
            guard let deadline else { return -1 }
            let now = Clock.monotonicNanos()
            return now >= deadline ? 0 : Int32(min((deadline - now) / 1_000_000 + 1, 1_000_000))
        }
        var timedOut = false
        // Collect the output until the hook closes it (or the timeout).
        while true {
            var pfd = pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, remainingMs())
            if r == 0 { timedOut = true; break }
            if r < 0 { if errno == EINTR { continue }; break }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = read(outPipe[0], &buf, buf.count)
            if n > 0 { if output.count < 8192 { output += buf[0..<n] }; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
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
