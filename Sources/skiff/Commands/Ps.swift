import CSkiff
import Glibc
import LinuxSys
import OCISpec
import Runtime

/// `ps`: the container's processes. JSON is the pid list (what containerd's shim and docker top
/// read); the table is ps(1)'s output (`ps -ef` or the arguments after the id) filtered to them.
enum PsCommand {
    static let command = Command(name: "ps", usage: "[--format table|json] <container-id> [ps options]",
                                 summary: "list the processes of a container", flags: [
        .value("format", "f", help: "table or json"),
    ]) { p, g in
        guard let id = p.positional.first else { throw UsageError("`skiff ps` needs a container id") }
        let format = p.value("format") ?? "table"
        guard format == "table" || format == "json" else { throw UsageError("--format must be table or json, not \"\(format)\"") }
        let state = try g.store.load(id)
        if state.status == .stopped && format == "table" { throw RuntimeError("container \(JSON.quoted(id)): container not running") }
        let pids = state.processes()
        if format == "json" {
            print(JSON.array(pids.map { .int($0) }).serialized())
            return 0
        }
        let psArgs = p.positional.count > 1 ? Array(p.positional.dropFirst()) : ["-ef"]
        let out = try runPs(psArgs)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first else { return 0 }
        let cols = header.split(separator: " ")
        guard let pidCol = cols.firstIndex(of: "PID") else {
            throw RuntimeError("ps \(psArgs.joined(separator: " ")): its output has no PID column")
        }
        let wanted = Set(pids)
        print(header)
        for line in lines.dropFirst() where !line.isEmpty {
            let f = line.split(separator: " ")
            if f.count > pidCol, let pid = pid_t(f[pidCol]), wanted.contains(pid) { print(line) }
        }
        return 0
    }

    static func runPs(_ args: [String]) throws -> String {
        var fds: [Int32] = [0, 0]
        try sys("pipe") { skiff_pipe2(&fds, O_CLOEXEC) }
        let argv = ["ps"] + args
        let cArgs = argv.map { strdup($0) } + [nil]
        let pid = skiff_fork()
        if pid == 0 {
            dup2(fds[1], 1)
            execvp("ps", cArgs)
            _exit(127)
        }
        close(fds[1])
        defer { close(fds[0]) }
        let out = (try? Files.readAll(fd: fds[0])) ?? []
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        for c in cArgs { free(c) }
        if skiff_wifexited(st) == 0 || skiff_wexitstatus(st) != 0 {
            throw RuntimeError("ps \(args.joined(separator: " ")) failed (exit status \(skiff_wexitstatus(st)); is ps(1) installed?)")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
