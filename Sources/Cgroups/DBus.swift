import CSkiff
import Glibc
import LinuxSys

/// A small D-Bus client, enough to talk to systemd (the systemd cgroup driver): a unix socket,
/// SASL EXTERNAL authentication, and the little-endian wire format of the D-Bus specification
/// for the basic types, arrays, structs, dict entries and variants. No libdbus / libsystemd:
/// the binary is static and Debian ships no static libsystemd.
public indirect enum DBusValue: Equatable {
    case byte(UInt8)
    case bool(Bool)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    case signature(String)
    /// An array with its element signature (needed to marshal an empty one).
    case array(String, [DBusValue])
    case structure([DBusValue])
    case dictEntry(DBusValue, DBusValue)
    case variant(DBusValue)

    /// The value's type signature.
    public var signature: String {
        switch self {
        case .byte: return "y"
        case .bool: return "b"
        case .int32: return "i"
        case .uint32: return "u"
        case .int64: return "x"
        case .uint64: return "t"
        case .double: return "d"
        case .string: return "s"
        case .objectPath: return "o"
        case .signature: return "g"
        case .array(let e, _): return "a" + e
        case .structure(let v): return "(" + v.map(\.signature).joined() + ")"
        case .dictEntry(let k, let v): return "{" + k.signature + v.signature + "}"
        case .variant: return "v"
        }
    }

    public var stringValue: String? {
        switch self {
        case .string(let s), .objectPath(let s), .signature(let s): return s
        case .variant(let v): return v.stringValue
        default: return nil
        }
    }
}

public struct DBusError: Error, CustomStringConvertible {
    public let description: String
    /// The D-Bus error name of an error reply (e.g. org.freedesktop.systemd1.NoSuchUnit).
    public let name: String?
    public init(_ description: String, name: String? = nil) {
        self.description = description
        self.name = name
    }
}

/// Marshals values in little-endian D-Bus wire format. Alignment is relative to the start of
/// the message, so header and body are written into one encoder (the body starts 8-aligned).
public struct DBusEncoder {
    public var bytes: [UInt8] = []
    public init() {}

    mutating func pad(_ n: Int) {
        while bytes.count % n != 0 { bytes.append(0) }
    }

    mutating func le<T: FixedWidthInteger>(_ v: T) {
        pad(MemoryLayout<T>.size)
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func alignment(_ sig: Substring.UTF8View.Element) -> Int {
        switch sig {
        case UInt8(ascii: "y"), UInt8(ascii: "g"), UInt8(ascii: "v"): return 1
        case UInt8(ascii: "n"), UInt8(ascii: "q"): return 2
        case UInt8(ascii: "x"), UInt8(ascii: "t"), UInt8(ascii: "d"), UInt8(ascii: "("), UInt8(ascii: "{"): return 8
        default: return 4
        }
    }

    public mutating func encode(_ v: DBusValue) {
        switch v {
        case .byte(let b): bytes.append(b)
        case .bool(let b): le(UInt32(b ? 1 : 0))
        case .int32(let i): le(i)
        case .uint32(let u): le(u)
        case .int64(let i): le(i)
        case .uint64(let u): le(u)
        case .double(let d): le(d.bitPattern)
        case .string(let s), .objectPath(let s):
            let u = Array(s.utf8)
            le(UInt32(u.count))
            bytes.append(contentsOf: u)
            bytes.append(0)
        case .signature(let s):
            let u = Array(s.utf8)
            bytes.append(UInt8(u.count))
            bytes.append(contentsOf: u)
            bytes.append(0)
        case .array(let elementSig, let items):
            le(UInt32(0))
            let lengthAt = bytes.count - 4
            pad(DBusEncoder.alignment(elementSig.utf8.first ?? UInt8(ascii: "y")))
            let start = bytes.count
            for item in items { encode(item) }
            let n = UInt32(bytes.count - start)
            withUnsafeBytes(of: n.littleEndian) { for i in 0..<4 { bytes[lengthAt + i] = $0[i] } }
        case .structure(let fields):
            pad(8)
            for f in fields { encode(f) }
        case .dictEntry(let k, let v):
            pad(8)
            encode(k)
            encode(v)
        case .variant(let inner):
            encode(.signature(inner.signature))
            encode(inner)
        }
    }
}

/// Unmarshals little-endian D-Bus data by signature.
public struct DBusDecoder {
    let bytes: [UInt8]
    var pos: Int
    /// Offset of the message start in `bytes` (alignment is relative to it).
    let base: Int

    public init(_ bytes: [UInt8], position: Int = 0, base: Int = 0) {
        self.bytes = bytes
        self.pos = position
        self.base = base
    }

    mutating func align(_ n: Int) throws {
        while (pos - base) % n != 0 { pos += 1 }
        if pos > bytes.count { throw DBusError("D-Bus message truncated") }
    }

    mutating func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        try align(n)
        guard pos + n <= bytes.count else { throw DBusError("D-Bus message truncated") }
        var v: T = 0
        for i in 0..<n { v |= T(bytes[pos + i]) << (8 * i) }
        pos += n
        return v
    }

    /// Decodes every complete type of `signature`, in order.
    public mutating func decode(signature: String) throws -> [DBusValue] {
        var sig = Array(signature.utf8)[...]
        var out: [DBusValue] = []
        while !sig.isEmpty { out.append(try decodeOne(&sig)) }
        return out
    }

    /// The first complete type of `sig` (removed from it).
    static func completeType(_ sig: inout ArraySlice<UInt8>) throws -> ArraySlice<UInt8> {
        guard let c = sig.first else { throw DBusError("bad D-Bus signature") }
        let whole = sig
        sig.removeFirst()
        switch c {
        case UInt8(ascii: "a"):
            _ = try completeType(&sig)
        case UInt8(ascii: "("), UInt8(ascii: "{"):
            let close = c == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "}")
            while sig.first != close {
                if sig.isEmpty { throw DBusError("bad D-Bus signature") }
                _ = try completeType(&sig)
            }
            sig.removeFirst()
        default: break
        }
        return whole[whole.startIndex..<sig.startIndex]
    }

    mutating func decodeOne(_ sig: inout ArraySlice<UInt8>) throws -> DBusValue {
        let type = try DBusDecoder.completeType(&sig)
        let c = type.first!
        switch c {
        case UInt8(ascii: "y"):
            guard pos < bytes.count else { throw DBusError("D-Bus message truncated") }
            pos += 1
            return .byte(bytes[pos - 1])
        case UInt8(ascii: "b"): return .bool(try le(UInt32.self) != 0)
        case UInt8(ascii: "n"): return .int32(Int32(Int16(bitPattern: try le(UInt16.self))))
        case UInt8(ascii: "q"): return .uint32(UInt32(try le(UInt16.self)))
        case UInt8(ascii: "i"): return .int32(Int32(bitPattern: try le(UInt32.self)))
        case UInt8(ascii: "u"), UInt8(ascii: "h"): return .uint32(try le(UInt32.self))
        case UInt8(ascii: "x"): return .int64(Int64(bitPattern: try le(UInt64.self)))
        case UInt8(ascii: "t"): return .uint64(try le(UInt64.self))
        case UInt8(ascii: "d"): return .double(Double(bitPattern: try le(UInt64.self)))
        case UInt8(ascii: "s"), UInt8(ascii: "o"):
            let n = Int(try le(UInt32.self))
            guard pos + n + 1 <= bytes.count else { throw DBusError("D-Bus message truncated") }
            let s = String(decoding: bytes[pos..<(pos + n)], as: UTF8.self)
            pos += n + 1
            return c == UInt8(ascii: "s") ? .string(s) : .objectPath(s)
        case UInt8(ascii: "g"):
            return .signature(try readSignature())
        case UInt8(ascii: "v"):
            let inner = try readSignature()
            var isig = Array(inner.utf8)[...]
            let v = try decodeOne(&isig)
            return .variant(v)
        case UInt8(ascii: "a"):
            let n = Int(try le(UInt32.self))
            let elem = type.dropFirst()
            try align(DBusEncoder.alignment(elem.first!))
            let end = pos + n
            guard end <= bytes.count else { throw DBusError("D-Bus message truncated") }
            var items: [DBusValue] = []
            while pos < end {
                var e = elem
                items.append(try decodeOne(&e))
            }
            return .array(String(decoding: elem, as: UTF8.self), items)
        case UInt8(ascii: "("):
            try align(8)
            var inner = type.dropFirst().dropLast()
            var fields: [DBusValue] = []
            while !inner.isEmpty { fields.append(try decodeOne(&inner)) }
            return .structure(fields)
        case UInt8(ascii: "{"):
            try align(8)
            var inner = type.dropFirst().dropLast()
            let k = try decodeOne(&inner)
            let v = try decodeOne(&inner)
            return .dictEntry(k, v)
        default:
            throw DBusError("unsupported D-Bus type \(String(decoding: [c], as: UTF8.self))")
        }
    }

    mutating func readSignature() throws -> String {
        guard pos < bytes.count else { throw DBusError("D-Bus message truncated") }
        let n = Int(bytes[pos])
        guard pos + 1 + n + 1 <= bytes.count else { throw DBusError("D-Bus message truncated") }
        let s = String(decoding: bytes[(pos + 1)..<(pos + 1 + n)], as: UTF8.self)
        pos += n + 2
        return s
    }
}

/// One D-Bus message.
public struct DBusMessage {
    public enum Kind: UInt8 { case methodCall = 1, methodReturn = 2, error = 3, signal = 4 }

    public var kind: Kind
    public var flags: UInt8 = 0
    public var serial: UInt32 = 0
    public var path: String?
    public var interface: String?
    public var member: String?
    public var errorName: String?
    public var replySerial: UInt32?
    public var destination: String?
    public var sender: String?
    public var body: [DBusValue] = []

    public init(kind: Kind) { self.kind = kind }

    public static func call(destination: String?, path: String, interface: String, member: String, _ body: [DBusValue] = []) -> DBusMessage {
        var m = DBusMessage(kind: .methodCall)
        m.destination = destination
        m.path = path
        m.interface = interface
        m.member = member
        m.body = body
        return m
    }

    /// The message in wire format.
    public func marshal() -> [UInt8] {
        var fields: [DBusValue] = []
        func field(_ code: UInt8, _ v: DBusValue) { fields.append(.structure([.byte(code), .variant(v)])) }
        if let path { field(1, .objectPath(path)) }
        if let interface { field(2, .string(interface)) }
        if let member { field(3, .string(member)) }
        if let errorName { field(4, .string(errorName)) }
        if let replySerial { field(5, .uint32(replySerial)) }
        if let destination { field(6, .string(destination)) }
        if let sender { field(7, .string(sender)) }
        let sig = body.map(\.signature).joined()
        if !sig.isEmpty { field(8, .signature(sig)) }

        var e = DBusEncoder()
        e.bytes = [UInt8(ascii: "l"), kind.rawValue, flags, 1, 0, 0, 0, 0]
        e.le(serial)
        e.encode(.array("(yv)", fields))
        e.pad(8)
        let bodyStart = e.bytes.count
        for v in body { e.encode(v) }
        let n = UInt32(e.bytes.count - bodyStart)
        withUnsafeBytes(of: n.littleEndian) { for i in 0..<4 { e.bytes[4 + i] = $0[i] } }
        return e.bytes
    }

    /// The total length of the message whose first 16 bytes are `head`.
    public static func totalLength(head: [UInt8]) throws -> Int {
        guard head.count >= 16 else { throw DBusError("D-Bus message truncated") }
        guard head[0] == UInt8(ascii: "l") || head[0] == UInt8(ascii: "B") else { throw DBusError("not a D-Bus message (endianness byte \(head[0]))") }
        func u32(_ at: Int) -> Int {
            head[0] == UInt8(ascii: "l")
                ? Int(head[at]) | Int(head[at + 1]) << 8 | Int(head[at + 2]) << 16 | Int(head[at + 3]) << 24
                : Int(head[at + 3]) | Int(head[at + 2]) << 8 | Int(head[at + 1]) << 16 | Int(head[at]) << 24
        }
        let bodyLength = u32(4), fieldsLength = u32(12)
        var headerEnd = 16 + fieldsLength
        headerEnd = (headerEnd + 7) & ~7
        let total = headerEnd + bodyLength
        guard total <= 128 * 1024 * 1024 else { throw DBusError("D-Bus message too long (\(total) bytes)") }
        return total
    }

    /// Parses one complete message (little-endian only: systemd and dbus-daemon answer in the
    /// byte order of the request).
    public static func unmarshal(_ bytes: [UInt8]) throws -> DBusMessage {
        guard bytes.count >= 16 else { throw DBusError("D-Bus message truncated") }
        guard bytes[0] == UInt8(ascii: "l") else { throw DBusError("big-endian D-Bus messages are not supported") }
        guard let kind = Kind(rawValue: bytes[1]) else { throw DBusError("unknown D-Bus message type \(bytes[1])") }
        var m = DBusMessage(kind: kind)
        m.flags = bytes[2]
        var d = DBusDecoder(bytes, position: 4)
        let bodyLength = Int(try d.le(UInt32.self))
        m.serial = try d.le(UInt32.self)
        guard case .array(_, let fields) = try d.decode(signature: "a(yv)")[0] else { throw DBusError("bad D-Bus header") }
        var sig = ""
        for f in fields {
            guard case .structure(let kv) = f, kv.count == 2, case .byte(let code) = kv[0], case .variant(let v) = kv[1] else { continue }
            switch (code, v) {
            case (1, .objectPath(let s)): m.path = s
            case (2, .string(let s)): m.interface = s
            case (3, .string(let s)): m.member = s
            case (4, .string(let s)): m.errorName = s
            case (5, .uint32(let u)): m.replySerial = u
            case (6, .string(let s)): m.destination = s
            case (7, .string(let s)): m.sender = s
            case (8, .signature(let s)): sig = s
            default: break
            }
        }
        try d.align(8)
        guard d.pos + bodyLength <= bytes.count else { throw DBusError("D-Bus message truncated") }
        if !sig.isEmpty { m.body = try d.decode(signature: sig) }
        return m
    }
}

/// A connection to a D-Bus peer: the system bus (dbus-daemon) or systemd's private socket.
public final class DBusConnection {
    public let fd: Int32
    public let address: String
    /// True on a message bus (Hello done, destinations needed); false peer-to-peer.
    public let isBus: Bool
    var nextSerial: UInt32 = 1
    var buffer: [UInt8] = []
    /// Messages read while waiting for something else (signals, mostly).
    public var pending: [DBusMessage] = []
    /// How long one call may wait for its answer.
    public var timeoutMillis: Int = 30_000

    /// Connects and authenticates (SASL EXTERNAL as this process's uid). On a bus, says Hello.
    public init(path: String, isBus: Bool) throws {
        address = path
        self.isBus = isBus
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw DBusError("socket: \(SysError.text(errno))") }
        fd = s
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(s)
            throw DBusError("socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in pathBytes.enumerated() { p[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 {
            let e = errno
            close(s)
            throw DBusError("connect to \(path): \(SysError.text(e))")
        }
        do {
            try authenticate()
            if isBus {
                _ = try call(.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello"))
            }
        } catch {
            close(s)
            throw error
        }
    }

    deinit { close(fd) }

    /// The hex encoding of the decimal uid, as SASL EXTERNAL wants it.
    public static func authLine(uid: uid_t) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in String(uid).utf8 { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
        return "AUTH EXTERNAL " + String(decoding: out, as: UTF8.self) + "\r\n"
    }

    func authenticate() throws {
        try send(bytes: [0] + Array(DBusConnection.authLine(uid: getuid()).utf8))
        let line = try readLine()
        guard line.hasPrefix("OK ") else {
            throw DBusError("authentication refused by \(address): \(line)")
        }
        try send(bytes: Array("BEGIN\r\n".utf8))
        // systemd's sd-bus (252) reads the authentication lines into a 256-byte buffer: a first
        // message that arrives with BEGIN and fits in it stays there unprocessed until more
        // data comes (the call hangs). So the first message goes only once the peer has read
        // BEGIN: SIOCOUTQ counts the bytes it has not read yet.
        let deadline = Clock.monotonicNanos() + 2_000_000_000
        var unread: Int32 = 0
        while skiff_ioctl_ptr(fd, 0x5411 /* SIOCOUTQ */, &unread) == 0 && unread > 0 && Clock.monotonicNanos() < deadline {
            usleep(500)
        }
    }

    func readLine() throws -> String {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            if buffer.count > 4096 { throw DBusError("no authentication answer from \(address)") }
            try fill(deadline: Clock.monotonicNanos() + UInt64(timeoutMillis) * 1_000_000)
        }
    }

    func send(bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DBusError("write to \(address): \(SysError.text(errno))")
            }
            off += n
        }
    }

    func fill(deadline: UInt64) throws {
        while true {
            let now = Clock.monotonicNanos()
            guard now < deadline else { throw DBusError("no answer from \(address) within \(timeoutMillis / 1000) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(min((deadline - now) / 1_000_000 + 1, 1000)))
            if r < 0 && errno != EINTR { throw DBusError("poll \(address): \(SysError.text(errno))") }
            if r <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw DBusError("read from \(address): \(SysError.text(errno))")
            }
            if n == 0 { throw DBusError("\(address) closed the connection") }
            buffer.append(contentsOf: chunk[..<n])
            return
        }
    }

    /// Reads the next message (waiting until `deadline`, monotonic nanoseconds).
    public func receive(deadline: UInt64) throws -> DBusMessage {
        while true {
            if buffer.count >= 16 {
                let total = try DBusMessage.totalLength(head: Array(buffer[0..<16]))
                if buffer.count >= total {
                    let bytes = Array(buffer[0..<total])
                    buffer.removeFirst(total)
                    return try DBusMessage.unmarshal(bytes)
                }
            }
            try fill(deadline: deadline)
        }
    }

    /// Sends a method call and waits for its reply; an error reply throws (with its name).
    /// Other messages that arrive meanwhile are kept in `pending`.
    @discardableResult
    public func call(_ message: DBusMessage) throws -> DBusMessage {
        var m = message
        m.serial = nextSerial
        nextSerial += 1
        if !isBus { m.destination = nil }
        try send(bytes: m.marshal())
        let deadline = Clock.monotonicNanos() + UInt64(timeoutMillis) * 1_000_000
        while true {
            let r = try receive(deadline: deadline)
            if r.replySerial == m.serial && (r.kind == .methodReturn || r.kind == .error) {
                if r.kind == .error {
                    let text = r.body.first?.stringValue ?? ""
                    throw DBusError("\(m.member ?? "call") failed: \(r.errorName ?? "error")\(text.isEmpty ? "" : ": " + text)", name: r.errorName)
                }
                return r
            }
            pending.append(r)
        }
    }

    /// Waits for a signal `member` matching `accept` (pending ones first).
    public func waitSignal(member: String, timeoutMillis: Int, _ accept: (DBusMessage) -> Bool) throws -> DBusMessage {
        if let i = pending.firstIndex(where: { $0.kind == .signal && $0.member == member && accept($0) }) {
            return pending.remove(at: i)
        }
        let deadline = Clock.monotonicNanos() + UInt64(timeoutMillis) * 1_000_000
        while true {
            let m = try receive(deadline: deadline)
            if m.kind == .signal && m.member == member && accept(m) { return m }
        }
    }
}
