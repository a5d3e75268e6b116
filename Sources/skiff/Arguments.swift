import Runtime

/// runc's command-line conventions (urfave/cli): `--flag value` and `--flag=value`, short
/// aliases, boolean flags that also take `=true`/`=false`, and flags end at the first
/// positional argument (so `exec ID sh -c ...` passes `-c` to the container).
struct Flag {
    let names: [String]
    let takesValue: Bool
    let help: String

    static func value(_ names: String..., help: String) -> Flag { Flag(names: names, takesValue: true, help: help) }
    static func bool(_ names: String..., help: String) -> Flag { Flag(names: names, takesValue: false, help: help) }

    var display: String {
        let n = names.map { $0.count == 1 ? "-\($0)" : "--\($0)" }.joined(separator: ", ")
        return takesValue ? n + " value" : n
    }
}

struct ParsedArgs {
    var values: [String: String] = [:]
    /// Every value of a flag given more than once (`-e A=1 -e B=2`), in order.
    var all: [String: [String]] = [:]
    var bools: Set<String> = []
    var positional: [String] = []
    /// Where the first positional argument was in the parsed slice (the command name, for the
    /// global parse: `--root state state ID` must not be split at the first "state").
    var firstPositionalIndex: Int? = nil

    func value(_ name: String) -> String? { values[name] }
    func bool(_ name: String) -> Bool { bools.contains(name) }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum ArgParser {
    /// Parses `args` against `flags`; the first name of a flag is its key in the result.
    static func parse(_ args: ArraySlice<String>, flags: [Flag], command: String, stopAtPositional: Bool = true) throws -> ParsedArgs {
        var out = ParsedArgs()
        var i = args.startIndex
        var flagsDone = false
        while i < args.endIndex {
            let a = args[i]
            i += 1
            if flagsDone || !a.hasPrefix("-") || a == "-" {
                if out.positional.isEmpty { out.firstPositionalIndex = i - 1 }
                out.positional.append(a)
                if stopAtPositional { flagsDone = true }
                continue
            }
            if a == "--" { flagsDone = true; continue }
            var name = a.hasPrefix("--") ? String(a.dropFirst(2)) : String(a.dropFirst())
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let flag = flags.first(where: { $0.names.contains(name) }) else {
                let shown = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
                throw UsageError(command.isEmpty ? "unknown global flag \(shown) (see `skiff --help`)"
                                 : "unknown flag \(shown) for `skiff \(command)` (see `skiff \(command) --help`)")
            }
            let key = flag.names[0]
            if flag.takesValue {
                let v: String
                if let inline { v = inline } else {
                    guard i < args.endIndex else {
                        throw UsageError(command.isEmpty ? "flag \(a) needs a value" : "flag \(a) of `skiff \(command)` needs a value")
                    }
                    v = args[i]
                    i += 1
                }
                out.values[key] = v
                out.all[key, default: []].append(v)
            } else {
                switch inline {
                case nil, "true", "1": out.bools.insert(key)
                case "false", "0": out.bools.remove(key)
                default: throw UsageError("flag --\(name)\(command.isEmpty ? "" : " of `skiff \(command)`") takes true or false, not \"\(inline!)\"")
                }
            }
        }
        return out
    }

    /// A flag naming a file (`--pid-file`, `--console-socket`): given empty, it would name the
    /// current directory.
    static func file(_ p: ParsedArgs, _ name: String) throws -> String? {
        guard let v = p.value(name) else { return nil }
        guard !v.isEmpty else { throw UsageError("--\(name) needs a file name, not an empty string") }
        return v
    }

    /// `--preserve-fds N`.
    static func preserveFds(_ p: ParsedArgs) throws -> Int {
        guard let n = p.value("preserve-fds") else { return 0 }
        guard let v = Int(n), v >= 0, v < 65536 else { throw UsageError("--preserve-fds takes a number of fds, not \"\(n)\"") }
        return v
    }

    /// Exactly one positional argument: the container id.
    static func id(_ p: ParsedArgs, command: String, extra: Int = 0) throws -> String {
        guard let id = p.positional.first else {
            throw UsageError("`skiff \(command)` needs a container id (usage: skiff \(command) [options] <container-id>)")
        }
        if p.positional.count > 1 + extra {
            throw UsageError("`skiff \(command)` takes \(extra == 0 ? "one argument" : "at most \(1 + extra) arguments"), got \(p.positional.count): \(p.positional.joined(separator: " "))")
        }
        return id
    }
}
