import Glibc
import LinuxSys
import Runtime

enum CreateCommand {
    static let flags: [Flag] = [
        .value("bundle", "b", help: "path to the bundle (default: the current directory)"),
        .value("pid-file", help: "write the container's init pid to this file"),
        .value("console-socket", help: "unix socket that receives the pty master (process.terminal)"),
        .bool("no-pivot", help: "use MS_MOVE and chroot instead of pivot_root (roots on ramfs)"),
        .bool("no-new-keyring", help: "keep the caller's session keyring"),
        .value("preserve-fds", help: "pass N more fds (3, 4, ...) to the container process"),
    ]

    static let command = Command(name: "create", usage: "[options] <container-id>",
                                 summary: "create a container; its program runs at `start`", flags: flags) { p, g in
        var options = try createOptions(p, command: "create")
        options.rootless = g.rootless
        options.systemdCgroup = g.systemdCgroup
        _ = try Lifecycle.create(options, store: g.store)
        return 0
    }

    static func createOptions(_ p: ParsedArgs, command: String) throws -> CreateOptions {
        let id = try ArgParser.id(p, command: command)
        var o = CreateOptions(id: id, bundle: p.value("bundle") ?? ".")
        o.pidFile = try ArgParser.file(p, "pid-file")
        o.consoleSocket = try ArgParser.file(p, "console-socket")
        o.noPivot = p.bool("no-pivot")
        o.noNewKeyring = p.bool("no-new-keyring")
        o.preserveFds = try ArgParser.preserveFds(p)
        // Socket activation (sd_listen_fds): fds 3.. passed to skiff go on to the container,
        // which is told about them (LISTEN_PID=1: it is pid 1 of its namespace), as runc does.
        if let fds = getenv("LISTEN_FDS").map({ String(cString: $0) }), let n = Int(fds), n > 0,
           let lp = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(lp) == getpid() {
            o.preserveFds += n
            o.extraEnv = ["LISTEN_FDS=\(n)", "LISTEN_PID=1"]
        }
        return o
    }
}
