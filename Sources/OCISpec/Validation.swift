// Small decoding helpers shared by the spec types: defaults for absent members, path checks,
// map-shaped objects, duplicate detection. Every error still carries the JSON path.

extension Node {
    /// A string that must be an absolute path; `what` names it in the hint.
    func absolutePath(_ what: String) throws -> String {
        let s = try string()
        guard s.hasPrefix("/") else {
            throw fail("\(JSON.quoted(s)) is not an absolute path", hint: "\(what) must start with \"/\"")
        }
        return s
    }

    /// A string that must not be empty.
    func nonEmptyString() throws -> String {
        let s = try string()
        if s.isEmpty { throw fail("must not be empty") }
        return s
    }

    /// The members of a map-shaped object (netDevices, rdma, timeOffsets) as nodes. A `null`
    /// value reads as an empty object, as Go's encoding/json gives the zero value.
    func entries() throws -> [(String, Node)] {
        guard case .object(let members) = value else { throw typeError("an object") }
        return members.map { k, v in (k, Node(v == .null ? .object([]) : v, path: child(k))) }
    }

    /// The key of a map entry as a string node, so that `oneOf` errors point at the entry.
    static func key(_ key: String, path: String) -> Node { Node(.string(key), path: path) }

    /// A string of CPU or memory-node numbers: digits, commas, dashes and spaces ("0-3,7").
    func cpuList() throws -> String {
        let s = try string()
        if s.unicodeScalars.contains(where: { !("0"..."9").contains($0) && $0 != "," && $0 != "-" && $0 != " " }) {
            throw fail("invalid list \(JSON.quoted(s))", hint: "expected numbers and ranges separated by commas, such as \"0-3,7\"")
        }
        return s
    }
}

extension ObjectReader {
    /// An optional array; absent or `null` is empty.
    func list<T: JSONDecodable>(_ key: String, _ type: T.Type = T.self) throws -> [T] {
        try decodeArray(key, T.self) ?? []
    }

    /// An optional array of strings; absent or `null` is empty.
    func stringList(_ key: String) throws -> [String] { try strings(key) ?? [] }

    /// An optional boolean; absent or `null` is false.
    func flag(_ key: String) throws -> Bool { try bool(key) ?? false }

    /// A required integer.
    func requiredInt<T: FixedWidthInteger>(_ key: String, _ type: T.Type = T.self) throws -> T {
        try required(key).int(T.self)
    }

    /// Each element of an optional array of strings must be one of the raw values of `E`.
    func enumStrings<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, what: String) throws -> [String] where E.RawValue == String {
        guard let n = optional(key) else { return [] }
        return try n.array().map { try $0.oneOf(E.self, what: what).rawValue }
    }
}

/// The error for a second entry with the same identity (namespace type, rlimit type).
func duplicateError(_ path: String, _ what: String, _ name: String, firstAt: String) -> DecodeError {
    DecodeError(path: path, "\(what) \(JSON.quoted(name)) is listed twice (first at \(firstAt))")
}

/// Whether `s` is a SemVer 2.0.0 version; returns its major version if so.
func semverMajor(_ s: String) -> UInt64? {
    var core = Substring(s)
    if let plus = core.firstIndex(of: "+") {
        let build = core[core.index(after: plus)...]
        guard identifiersValid(build, numericNoLeadingZero: false) else { return nil }
        core = core[..<plus]
    }
    if let dash = core.firstIndex(of: "-") {
        let pre = core[core.index(after: dash)...]
        guard identifiersValid(pre, numericNoLeadingZero: true) else { return nil }
        core = core[..<dash]
    }
    let parts = core.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3 else { return nil }
    for p in parts {
        guard !p.isEmpty, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if p.count > 1 && p.first == "0" { return nil }
    }
    return UInt64(parts[0])
}

private func identifiersValid(_ s: Substring, numericNoLeadingZero: Bool) -> Bool {
    let ids = s.split(separator: ".", omittingEmptySubsequences: false)
    for id in ids {
        guard !id.isEmpty else { return false }
        var numeric = true
        for c in id.utf8 {
            let digit = c >= 0x30 && c <= 0x39
            let alpha = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
            guard digit || alpha else { return false }
            if !digit { numeric = false }
        }
        if numericNoLeadingZero && numeric && id.count > 1 && id.first == "0" { return false }
    }
    return true
}
