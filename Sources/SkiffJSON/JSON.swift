// A small JSON reader and writer without Foundation: config.json and state.json are read on every
// command, and JSONDecoder costs more than the rest of `state` together (see README, Performance).

/// A parsed JSON value. Numbers keep their source text so that 64-bit integers (memory limits,
/// time offsets, uids) are never rounded through a Double.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSON])
    /// Members in document order; duplicate keys are rejected by the parser.
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let members) = self {
            for (k, v) in members where k == key { return v }
        }
        return nil
    }

    /// The JSON type name used in error messages ("expected a string, got a number").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Broken JSON: where (line and column, 1-based) and what.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

public enum JSONParser {
    public static func parse(_ text: String) throws -> JSON {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { buf in
            var p = Parser(buf: UnsafeBufferPointer(buf))
            p.skipSpace()
            let v = try p.value(depth: 0)
            p.skipSpace()
            if p.i < buf.count { throw p.error("unexpected text after the end of the JSON value") }
            return v
        }
    }

    public static func parse(bytes: [UInt8]) throws -> JSON {
        try bytes.withUnsafeBufferPointer { buf in
            var p = Parser(buf: buf)
            p.skipSpace()
            let v = try p.value(depth: 0)
            p.skipSpace()
            if p.i < buf.count { throw p.error("unexpected text after the end of the JSON value") }
            return v
        }
    }

    struct Parser {
        let buf: UnsafeBufferPointer<UInt8>
        var i = 0

        init(buf: UnsafeBufferPointer<UInt8>) { self.buf = buf }

        func error(_ message: String) -> JSONSyntaxError {
            var line = 1, col = 1
            var k = 0
            while k < i && k < buf.count {
                if buf[k] == 0x0A { line += 1; col = 1 } else if buf[k] & 0xC0 != 0x80 { col += 1 }
                k += 1
            }
            return JSONSyntaxError(line: line, column: col, message: message)
        }

        mutating func skipSpace() {
            while i < buf.count, buf[i] == 0x20 || buf[i] == 0x0A || buf[i] == 0x0D || buf[i] == 0x09 { i += 1 }
        }

        func describe(_ c: UInt8) -> String {
            if c >= 0x20 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
            return "byte 0x" + String(c, radix: 16)
        }

        mutating func value(depth: Int) throws -> JSON {
            if depth > 512 { throw error("nesting deeper than 512 levels") }
            guard i < buf.count else { throw error("unexpected end of input, expected a value") }
            switch buf[i] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw error("unexpected \(describe(buf[i])), expected a value")
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let n = word.utf8CodeUnitCount
            let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
            guard i + n <= buf.count, (0..<n).allSatisfy({ buf[i + $0] == w[$0] }) else {
                throw error("invalid literal, expected \(word)")
            }
            i += n
        }

        mutating func object(depth: Int) throws -> JSON {
            i += 1
            var members: [(String, JSON)] = []
            var seen: Set<String>? = nil
            skipSpace()
            if i < buf.count && buf[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < buf.count else { throw error("unexpected end of input inside an object") }
                guard buf[i] == UInt8(ascii: "\"") else {
                    throw error("unexpected \(describe(buf[i])), expected a member name in double quotes")
                }
                let keyStart = i
                let key = try string()
                // Duplicates: a linear scan for the usual small objects, a set past 16 members
                // (an object of 100000 annotations must not take O(n^2)).
                let duplicate: Bool
                if members.count < 16 {
                    duplicate = members.contains { $0.0 == key }
                } else {
                    if seen == nil { seen = Set(members.map { $0.0 }) }
                    duplicate = !seen!.insert(key).inserted
                }
                if duplicate {
                    i = keyStart
                    throw error("duplicate member \(JSON.quoted(JSON.preview(key)))")
                }
                skipSpace()
                guard i < buf.count, buf[i] == UInt8(ascii: ":") else { throw error("expected ':' after member name \"\(key)\"") }
                i += 1
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < buf.count else { throw error("unexpected end of input inside an object") }
                if buf[i] == UInt8(ascii: ",") { i += 1; continue }
                if buf[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw error("unexpected \(describe(buf[i])), expected ',' or '}'")
            }
        }

        mutating func array(depth: Int) throws -> JSON {
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < buf.count && buf[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < buf.count else { throw error("unexpected end of input inside an array") }
                if buf[i] == UInt8(ascii: ",") { i += 1; continue }
                if buf[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw error("unexpected \(describe(buf[i])), expected ',' or ']'")
            }
        }

        mutating func number() throws -> String {
            let start = i
            if buf[i] == UInt8(ascii: "-") { i += 1 }
            func digits(_ p: inout Parser) -> Int {
                let s = p.i
                while p.i < p.buf.count, p.buf[p.i] >= 0x30 && p.buf[p.i] <= 0x39 { p.i += 1 }
                return p.i - s
            }
            guard i < buf.count else { throw error("unexpected end of input inside a number") }
            if buf[i] == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw error("invalid number") }
            if i < buf.count, buf[i] == UInt8(ascii: ".") {
                i += 1
                if digits(&self) == 0 { throw error("invalid number: digits expected after '.'") }
            }
            if i < buf.count, buf[i] == UInt8(ascii: "e") || buf[i] == UInt8(ascii: "E") {
                i += 1
                if i < buf.count, buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-") { i += 1 }
                if digits(&self) == 0 { throw error("invalid number: digits expected in exponent") }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= buf.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = buf[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw error("invalid hex digit in \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws -> String {
            i += 1
            let start = i
            // Fast path: no escapes.
            while i < buf.count, buf[i] != UInt8(ascii: "\""), buf[i] != UInt8(ascii: "\\"), buf[i] >= 0x20 { i += 1 }
            if i < buf.count, buf[i] == UInt8(ascii: "\"") {
                let s = try text(UnsafeBufferPointer(rebasing: buf[start..<i]), at: start)
                i += 1
                return s
            }
            var out = Array(buf[start..<i])
            while true {
                guard i < buf.count else { throw error("unterminated string") }
                let c = buf[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c < 0x20 { throw error("control character \(describe(c)) inside a string (escape it)") }
                if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
                i += 1
                guard i < buf.count else { throw error("unterminated escape") }
                let e = buf[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard i + 6 <= buf.count, buf[i] == UInt8(ascii: "\\"), buf[i + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired UTF-16 surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw error("invalid UTF-16 surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw error("unpaired UTF-16 surrogate in \\u escape")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    i -= 1
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            }
            return try out.withUnsafeBufferPointer { try text($0, at: start) }
        }

        /// The string of these bytes, refusing invalid UTF-8 rather than silently replacing it
        /// with U+FFFD (a Latin-1 path would otherwise become another path).
        func text(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) throws -> String {
            if let s = String(validating: bytes, as: UTF8.self) { return s }
            var p = self
            p.i = start
            throw p.error("invalid UTF-8 in a string (JSON text must be UTF-8; write other characters as \\uXXXX escapes)")
        }
    }
}

// MARK: - Writing

extension JSON {
    /// Compact serialization (state.json, `state`, `list --format json`), or indented with `indent`.
    /// The JSON text. Written as UTF-8 bytes: appending to a String piece by piece cost about
    /// 260 instructions a byte (2.6 M for docker's seccomp profile), bytes about a tenth of it.
    public func serialized(indent: Int? = nil) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(to: &out, indent: indent, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    func write(to out: inout [UInt8], indent: Int?, level: Int) {
        switch self {
        case .null: JSON.append("null", to: &out)
        case .bool(let b): JSON.append(b ? "true" : "false", to: &out)
        case .number(let n): JSON.append(n, to: &out)
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { JSON.append("[]", to: &out); return }
            out.append(UInt8(ascii: "["))
            for (n, v) in items.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, indent, level + 1)
                v.write(to: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { JSON.append("{}", to: &out); return }
            out.append(UInt8(ascii: "{"))
            for (n, (k, v)) in members.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, indent, level + 1)
                JSON.quote(k, into: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                v.write(to: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func newline(_ out: inout [UInt8], _ indent: Int?, _ level: Int) {
        guard let indent else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
    }

    static func append(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    public static func quote(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        quote(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `s` as a JSON string: quotes, and escapes for the quote, the backslash and controls.
    static func quote(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buf in
            var start = 0
            for i in 0..<buf.count {
                let c = buf[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i]))
                start = i + 1
                switch c {
                case 0x22: append("\\\"", to: &out)
                case 0x5C: append("\\\\", to: &out)
                case 0x0A: append("\\n", to: &out)
                case 0x0D: append("\\r", to: &out)
                case 0x09: append("\\t", to: &out)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    append("\\u00", to: &out)
                    out.append(hex[Int(c >> 4)])
                    out.append(hex[Int(c & 0xf)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<buf.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// At most `limit` characters of `s`, then "...": for quoting a value in a message, so that
    /// a 10 MB value does not become a 10 MB error.
    public static func preview(_ s: String, limit: Int = 60) -> String {
        s.utf8.count <= limit ? s : String(s.prefix(limit)) + "..."
    }

    /// `s` as a JSON string for a message: values longer than 200 characters are cut (`preview`).
    public static func quoted(_ s: String) -> String {
        var out = ""
        quote(preview(s, limit: 200), into: &out)
        return out
    }

    // Convenience constructors for writers.
    public static func int<T: BinaryInteger>(_ v: T) -> JSON { .number(String(v)) }
    public static func str(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }
}
