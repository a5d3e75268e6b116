import Cgroups
import Glibc
import LinuxSys
import OCISpec
import Runtime

/// A subcommand: its flags, a one-line summary, and what it does.
struct Command {
    let name: String
    let usage: String
    let summary: String
    let flags: [Flag]
    let run: (ParsedArgs, Globals) throws -> Int32
}

/// The global options, as runc has them.
struct Globals {
    var root = "/run/skiff"
    var systemdCgroup = false
    /// `--rootless`: true, false, or auto (the default: rootless when euid != 0).
    var rootless = geteuid() != 0
    var store: StateStore { StateStore(root: root) }
}

enum CLI {
    static let version = "0.1.0"
    static let specVersion = "1.3.0"

    static let globalFlags: [Flag] = [
        .value("root", help: "state directory (default: /run/skiff; $XDG_RUNTIME_DIR/skiff when not root)"),
        .value("log", help: "write errors and warnings to this file (default: stderr)"),
        .value("log-format", help: "text or json"),
        .bool("debug", help: "debug messages and a timing trace of each phase"),
        .bool("systemd-cgroup", help: "use the systemd cgroup driver (a transient scope per container)"),
        .value("rootless", help: "true, false or auto (default): rootless cgroup handling (auto: when not root)"),
        .value("criu", help: "accepted for compatibility; checkpointing is not supported"),
        .bool("version", "v", help: "print the version"),
        .bool("help", "h", help: "show help"),
    ]

    static let commands: [Command] = [
        CreateCommand.command, StartCommand.command, RunCommand.command, StateCommand.command,
        KillCommand.command, DeleteCommand.command, ListCommand.command, SpecCommand.command,
        ExecCommand.command, PsCommand.command, PauseCommand.pause, PauseCommand.resume, FeaturesCommand.command,
        UpdateCommand.command, EventsCommand.command,
    ]

    /// runc commands skiff does not have yet: a clear error rather than "unknown command".
    static let notYet: [String: String] = [
        "checkpoint": "checkpoint/restore", "restore": "checkpoint/restore",
    ]

    static func main(_ argv: [String]) -> Int32 {
        var globals = Globals()
        do {
            let g = try ArgParser.parse(argv[...], flags: globalFlags, command: "", stopAtPositional: true)
            // Commands whose processes enter a container run from a read-only view of the
            // binary (CVE-2019-5736); this re-executes skiff once, before anything is opened.
            if let name = g.positional.first, ["create", "run", "exec"].contains(name), !g.bool("help") {
                Hardening.runFromReadOnlyView()
            }
            if let f = g.value("log-format") {
                switch f {
                case "text": Log.format = .text
                case "json": Log.format = .json
                default: throw UsageError("--log-format must be text or json, not \"\(f)\"")
                }
            }
            if let path = g.value("log"), !path.isEmpty {
                do { try Log.open(path: path) } catch { throw UsageError("--log: cannot open \(path): \(error)") }
            }
            Log.debugEnabled = g.bool("debug")
            var rootError: Error? = nil
            if let r = g.value("root") {
                guard !r.isEmpty else { throw UsageError("--root needs a directory") }
                globals.root = Files.absolute(r)
            } else if geteuid() != 0 {
                do { globals.root = try Rootless.defaultRoot() } catch { rootError = error }
            }
            globals.systemdCgroup = g.bool("systemd-cgroup")
            if let r = g.value("rootless") {
                guard ["true", "false", "auto"].contains(r) else { throw UsageError("--rootless takes true, false or auto, not \"\(r)\"") }
                if r != "auto" { globals.rootless = r == "true" }
            }
            if g.bool("version") { printVersion(); return 0 }
            guard let name = g.positional.first else {
                if g.bool("help") { printHelp(); return 0 }
                throw UsageError("no command given (see `skiff --help`)")
            }
            let rest = argv[(g.firstPositionalIndex! + 1)...]
            if name == "help" {
                if let c = rest.first.flatMap({ n in commands.first { $0.name == n } }) { printHelp(c) } else { printHelp() }
                return 0
            }
            guard let cmd = commands.first(where: { $0.name == name }) else {
                if let what = notYet[name] {
                    throw RuntimeError("`skiff \(name)`: \(what) is not supported by skiff yet (see the feature table in the README)")
                }
                throw UsageError("unknown command \"\(name)\" (see `skiff --help` for the list)")
            }
            let p = try ArgParser.parse(rest, flags: cmd.flags + [.bool("help", "h", help: "show help")], command: name)
            if p.bool("help") { printHelp(cmd); return 0 }
            if let rootError, !["spec", "features"].contains(name) { throw rootError }
            SeccompFilters.cacheDir = globals.root
            return try cmd.run(p, globals)
        } catch {
            Log.error("\(error)")
            if let e = error as? RuntimeError { return e.exitCode }
            return 1
        }
    }

    static func printVersion() {
        print("skiff version \(version)\ncommit: none\nspec: \(specVersion)")
    }

    static func printHelp() {
        var s = "skiff \(version): an OCI container runtime (runc-compatible)\n\nusage: skiff [global options] command [options] [arguments]\n\ncommands:\n"
        for c in commands { s += "  " + c.name.padding(10) + c.summary + "\n" }
        s += "\nglobal options:\n"
        for f in globalFlags { s += "  " + f.display.padding(26) + f.help + "\n" }
        print(s, terminator: "")
    }

    static func printHelp(_ c: Command) {
        var s = "usage: skiff \(c.name) \(c.usage)\n\n\(c.summary)\n"
        if !c.flags.isEmpty {
            s += "\noptions:\n"
            for f in c.flags { s += "  " + f.display.padding(26) + f.help + "\n" }
        }
        print(s, terminator: "")
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}

/// Output on stdout, written straight to fd 1. Swift's `print` takes `Any` and casts each item
/// to TextOutputStreamable, which scans every protocol conformance record of the binary on
/// first use: 40 more page faults (0.6 MB more RSS) for `state` and `--version`.
func print(_ s: String, terminator: String = "\n") {
    _ = try? Files.writeAll(fd: 1, terminator.isEmpty ? s : s + terminator)
}
