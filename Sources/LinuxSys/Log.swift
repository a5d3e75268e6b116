import Glibc
import SkiffJSON

/// skiff's log: `--log FILE` and `--log-format text|json`. In json format each line is
/// {"level":"error","msg":"...","time":"RFC3339"}, which containerd's shim and conmon read to show
/// the user why a call failed. Errors also always go to stderr in plain text, as runc does.
public enum Log {
    public enum Format { case text, json }
    public enum Level: Int { case debug = 0, info, warning, error
        var name: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    public nonisolated(unsafe) static var fd: Int32 = 2
    public nonisolated(unsafe) static var format: Format = .text
    public nonisolated(unsafe) static var debugEnabled = false
    nonisolated(unsafe) static var toFile = false
    /// When skiff started, for the phase trace; set by `markStart()` first thing in main.
    nonisolated(unsafe) static var start: UInt64 = 0

    public static func markStart() { start = Clock.monotonicNanos() }

    public static func open(path: String) throws {
        fd = try Files.open(path, O_WRONLY | O_APPEND | O_CREAT, mode: 0o644)
        toFile = true
    }

    public static func error(_ msg: String) {
        emit(.error, msg)
        if toFile || format == .json { plain(.error, msg, to: 2) }
    }
    public static func warn(_ msg: String) { emit(.warning, msg) }
    public static func info(_ msg: String) { emit(.info, msg) }
    public static func debug(_ msg: @autoclosure () -> String) {
        if debugEnabled { emit(.debug, msg()) }
    }

    /// `--debug` phase trace: milliseconds since skiff started, then the phase.
    public static func phase(_ name: @autoclosure () -> String) {
        guard debugEnabled else { return }
        let ms = Double(Int64(bitPattern: Clock.monotonicNanos() &- start)) / 1e6
        let t = (ms * 1000).rounded() / 1000
        emit(.debug, "phase \(name()) at \(t) ms")
    }

    static func emit(_ level: Level, _ msg: String) {
        switch format {
        case .json:
            var line = "{\"level\":\"\(level.name)\",\"msg\":"
            JSON.quote(msg, into: &line)
            line += ",\"time\":\"\(Clock.rfc3339())\"}\n"
            _ = try? Files.writeAll(fd: fd, line)
        case .text:
            plain(level, msg, to: fd)
        }
    }

    static func plain(_ level: Level, _ msg: String, to fd: Int32) {
        let prefix = level == .error ? "skiff: " : "skiff: \(level.name): "
        _ = try? Files.writeAll(fd: fd, prefix + msg + "\n")
    }
}
