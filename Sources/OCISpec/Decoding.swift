@_exported import SkiffJSON

// Strict decoding with JSON paths: every error names where in config.json the bad value is
// (`linux.namespaces[2].type`), what was found, and what to do about it.
//
// Policy (config.md, "Extensibility"): properties unknown to the spec are ignored, as the spec
// requires. Properties the spec defines are checked for type and value. Properties the spec
// defines but skiff does not implement yet are refused with `DecodeError.unsupported`, never
// dropped silently.

/// A bad config value: the JSON path, what is wrong, and an optional hint.
public struct DecodeError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public let hint: String?

    public init(path: String, _ message: String, hint: String? = nil) {
        self.path = path
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = path.isEmpty ? message : "\(path): \(message)"
        if let hint { s += " (\(hint))" }
        return s
    }

    /// A spec field skiff does not implement yet.
    public static func unsupported(_ path: String, _ what: String? = nil) -> DecodeError {
        DecodeError(path: path, "\(what ?? "this setting") is not supported by skiff yet",
                    hint: "remove it from config.json; see the feature table in skiff's README")
    }
}

/// A JSON value together with its path in the document.
public struct Node {
    public let value: JSON
    public let path: String

    public init(_ value: JSON, path: String = "") {
        self.value = value
        self.path = path
    }

    public func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func fail(_ message: String, hint: String? = nil) -> DecodeError {
        DecodeError(path: path, message, hint: hint)
    }

    func typeError(_ expected: String) -> DecodeError {
        fail("expected \(expected), got \(value.typeName)\(preview)")
    }

    private var preview: String {
        switch value {
        case .string(let s): return " " + JSON.quoted(s.count > 40 ? String(s.prefix(40)) + "..." : s)
        case .number(let n): return " \(n)"
        case .bool(let b): return " \(b)"
        default: return ""
        }
    }

    public func object() throws -> ObjectReader {
        guard case .object(let members) = value else { throw typeError("an object") }
        return ObjectReader(members: members, path: path)
    }

    public func array() throws -> [Node] {
        guard case .array(let items) = value else { throw typeError("an array") }
        return items.enumerated().map { Node($0.element, path: "\(path)[\($0.offset)]") }
    }

    public func string() throws -> String {
        guard case .string(let s) = value else { throw typeError("a string") }
        if s.utf8.contains(0) {
            throw fail("contains a NUL character (\\u0000): the kernel takes strings only up to a NUL, so this value would be silently cut there; remove it")
        }
        return s
    }

    public func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw typeError("true or false") }
        return b
    }

    /// An integer of type T; fractions, exponents and out-of-range values are errors.
    public func int<T: FixedWidthInteger>(_ type: T.Type = T.self) throws -> T {
        guard case .number(let text) = value else { throw typeError("an integer") }
        guard let v = T(text) else {
            if text.contains(".") || text.contains("e") || text.contains("E") {
                throw fail("expected a whole number, got \(text)")
            }
            throw fail("\(text) is out of range (\(T.min) to \(T.max))")
        }
        return v
    }

    public func double() throws -> Double {
        guard case .number(let text) = value, let d = Double(text) else { throw typeError("a number") }
        return d
    }

    public func strings() throws -> [String] {
        try array().map { try $0.string() }
    }

    /// An object whose values are all strings (annotations, sysctl, env maps).
    public func stringMap() throws -> [(String, String)] {
        guard case .object(let members) = value else { throw typeError("an object") }
        return try members.map { (k, v) in (k, try Node(v, path: "\(path).\(k)").string()) }
    }

    /// One of a fixed set of strings.
    public func oneOf<E: RawRepresentable & CaseIterable>(_ type: E.Type, what: String) throws -> E where E.RawValue == String {
        let s = try string()
        if let e = E(rawValue: s) { return e }
        let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw fail("unknown \(what) \(JSON.quoted(s))", hint: "expected one of \(allowed)")
    }
}

/// Reads the members of one JSON object. `null` counts as absent, as Go's encoding/json does,
/// so configs written by Go clients with `"field": null` decode the same way under runc and skiff.
public struct ObjectReader {
    public let members: [(String, JSON)]
    public let path: String

    public func has(_ key: String) -> Bool {
        if let v = lookup(key), v != .null { return true }
        return false
    }

    func lookup(_ key: String) -> JSON? {
        for (k, v) in members where k == key { return v }
        return nil
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func optional(_ key: String) -> Node? {
        guard let v = lookup(key), v != .null else { return nil }
        return Node(v, path: childPath(key))
    }

    public func required(_ key: String) throws -> Node {
        guard let n = optional(key) else {
            throw DecodeError(path: childPath(key), "is required but missing")
        }
        return n
    }

    // Typed shortcuts.
    public func string(_ key: String) throws -> String? { try optional(key)?.string() }
    public func bool(_ key: String) throws -> Bool? { try optional(key)?.bool() }
    public func int<T: FixedWidthInteger>(_ key: String, _ type: T.Type = T.self) throws -> T? { try optional(key)?.int(T.self) }
    public func strings(_ key: String) throws -> [String]? { try optional(key)?.strings() }
    public func stringMap(_ key: String) throws -> [(String, String)]? { try optional(key)?.stringMap() }
    public func requiredString(_ key: String) throws -> String { try required(key).string() }

    /// Decodes an optional member with a type's decoding initializer.
    public func decode<T: JSONDecodable>(_ key: String, _ type: T.Type = T.self) throws -> T? {
        try optional(key).map { try T(from: $0) }
    }

    public func decodeArray<T: JSONDecodable>(_ key: String, _ type: T.Type = T.self) throws -> [T]? {
        try optional(key).map { try $0.array().map { try T(from: $0) } }
    }

    /// A field the spec defines that skiff refuses until it is implemented.
    public func refuse(_ key: String, _ what: String? = nil) throws {
        if has(key) { throw DecodeError.unsupported(childPath(key), what) }
    }
}

/// A type that decodes itself strictly from a JSON node.
public protocol JSONDecodable {
    init(from node: Node) throws
}

/// A type that writes itself as JSON (state, `spec`, features).
public protocol JSONEncodable {
    var json: JSON { get }
}

extension JSON {
    /// Builds an object, leaving out members whose value is nil.
    public static func obj(_ members: [(String, JSON?)]) -> JSON {
        .object(members.compactMap { k, v in v.map { (k, $0) } })
    }
}

public func decodeJSONDocument<T: JSONDecodable>(_ text: String, as type: T.Type = T.self) throws -> T {
    let value: JSON
    do { value = try JSONParser.parse(text) } catch let e as JSONSyntaxError {
        throw DecodeError(path: "", "not valid JSON: \(e)")
    }
    return try T(from: Node(value))
}
