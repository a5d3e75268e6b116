import LinuxSys
import OCISpec
import Runtime

enum ExecCommand {
    static let command = Command(name: "exec", usage: "[options] <container-id> [command [args...]]",
                                 summary: "run a new process in a running container", flags: [
        .value("process", "p", help: "a process.json (the `process` object of config.json) instead of args"),
        .bool("tty", "t", help: "give the process a terminal"),
        .value("console-socket", help: "unix socket that receives the pty master"),
        .bool("detach", "d", help: "return once the process runs"),
        .value("pid-file", help: "write the process's pid to this file"),
        .value("env", "e", help: "set an environment variable (repeatable)"),
        .value("cwd", help: "working directory in the container"),
        .value("user", "u", help: "UID[:GID] to run as"),
        .value("additional-gids", "g", help: "an additional group id (repeatable)"),
        .value("cap", "c", help: "add a capability (repeatable)"),
        .bool("no-new-privs", help: "set no_new_privs"),
        .value("apparmor", help: "AppArmor profile (refused: no AppArmor on this host)"),
        .value("process-label", help: "SELinux label (refused: no SELinux on this host)"),
        .value("preserve-fds", help: "pass N more fds (3, 4, ...) to the process"),
        .value("cgroup", help: "a sub-cgroup of the container's to run in"),
        .bool("ignore-paused", help: "exec even if the container is paused"),
        .bool("no-subreaper", help: "do not reap orphaned processes of the exec'd one"),
    ]) { p, g in
        guard let id = p.positional.first else {
            throw UsageError("`skiff exec` needs a container id (usage: skiff exec [options] <container-id> [command [args...]])")
        }
        let args = Array(p.positional.dropFirst())
        var process: OCISpec.Process
        if let file = p.value("process") {
            let text: String
            do { text = try Files.read(Files.absolute(file), limit: 16 << 20) } catch {
                throw RuntimeError("--process: cannot read \(file): \(error)")
            }
            do { process = try OCISpec.Process.parse(text) } catch let e as DecodeError {
                throw RuntimeError("--process \(file): \(e)")
            }
            if !args.isEmpty { process.args = args }
        } else {
            guard !args.isEmpty else {
                throw UsageError("`skiff exec` needs a command to run, or --process FILE")
            }
            process = try Exec.baseProcess(id, store: g.store)
            process.args = args
            process.terminal = false
            process.consoleSize = nil
        }
        if p.bool("tty") { process.terminal = true }
        for e in p.all["env"] ?? [] {
            guard let eq = e.firstIndex(of: "="), eq != e.startIndex else { throw UsageError("--env takes NAME=VALUE, not \"\(e)\"") }
            let name = e[..<eq]
            process.env.removeAll { $0.hasPrefix(name + "=") }
            process.env.append(e)
        }
        if let cwd = p.value("cwd") { process.cwd = cwd }
        if let u = p.value("user") {
            let parts = u.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw UsageError("--user takes UID[:GID] as numbers, not \"\(u)\"")
            }
            process.user.uid = uid
            if parts.count == 2 { process.user.gid = UInt32(parts[1])! }
        }
        if let gids = p.all["additional-gids"] {
            process.user.additionalGids = try gids.map {
                guard let g = UInt32($0) else { throw UsageError("--additional-gids takes numbers, not \"\($0)\"") }
                return g
            }
        }
        if let caps = p.all["cap"] {
            var c = process.capabilities ?? Capabilities()
            for cap in caps {
                let name = cap.uppercased().hasPrefix("CAP_") ? cap.uppercased() : "CAP_" + cap.uppercased()
                for kp in [\Capabilities.bounding, \.effective, \.permitted, \.inheritable, \.ambient] {
                    var set = c[keyPath: kp] ?? []
                    if !set.contains(name) { set.append(name) }
                    c[keyPath: kp] = set
                }
            }
            process.capabilities = c
        }
        if p.bool("no-new-privs") { process.noNewPrivileges = true }
        if let a = p.value("apparmor"), !a.isEmpty { process.apparmorProfile = a }
        if let l = p.value("process-label"), !l.isEmpty { process.selinuxLabel = l }
        var o = ExecOptions(id: id, process: process)
        o.consoleSocket = try ArgParser.file(p, "console-socket")
        o.detach = p.bool("detach")
        o.pidFile = try ArgParser.file(p, "pid-file")
        o.subCgroup = p.value("cgroup")
        o.ignorePaused = p.bool("ignore-paused")
        o.noSubreaper = p.bool("no-subreaper")
        o.preserveFds = try ArgParser.preserveFds(p)
        return try Exec.run(o, store: g.store)
    }
}
