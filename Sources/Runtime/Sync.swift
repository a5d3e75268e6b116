import CSkiff
import Glibc
import LinuxSys

/// The closed vocabulary the parent (`skiff create`) and its children speak over a
/// SOCK_SEQPACKET socketpair: one message per packet, a type byte and a payload.
enum SyncMessage: Equatable {
    /// parent -> stage 1: the process is in its cgroup; go on with the namespaces.
    case go
    /// stage 1 -> parent: a new user namespace exists; write uid_map and gid_map.
    case needMappings
    /// parent -> stage 1: mappings written.
    case mappingsDone
    /// stage 1 -> parent: the container's init process, as a pid of the parent's namespace.
    case initPid(Int32)
    /// parent -> init: the pid is known; init may now talk. Carries the state JSON the
    /// createContainer and startContainer hooks get on stdin.
    case pidKnown(String)
    /// init -> parent: namespaces and mounts are ready; run prestart and createRuntime hooks.
    case runHooks
    /// parent -> init: hooks ran.
    case hooksDone
    /// init -> parent: fully set up, waiting for `start`.
    case ready
    /// child -> parent: setup failed; the text says what, where and why.
    case error(String)
    /// init -> parent: a createContainer hook failed (the lifecycle goes on at "destroy").
    case hookFailed(String)
    /// child -> parent: the seccomp notify fd comes with this message (SCM_RIGHTS); the parent
    /// hands it to linux.seccomp.listenerPath, which the container cannot reach.
    case seccompFD
    /// parent -> stage 1: the detached idmapped mount for mounts[N] comes with this message
    /// (SCM_RIGHTS); the container's init attaches it.
    case mountFD(Int32)

    var bytes: [UInt8] {
        switch self {
        case .go: return [1]
        case .needMappings: return [2]
        case .mappingsDone: return [3]
        case .initPid(let p): return [4] + withUnsafeBytes(of: p.littleEndian) { Array($0) }
        case .pidKnown(let s): return [5] + Array(s.utf8)
        case .runHooks: return [6]
        case .hooksDone: return [7]
        case .ready: return [8]
        case .error(let s): return [9] + Array(s.utf8.prefix(65536))
        case .hookFailed(let s): return [10] + Array(s.utf8.prefix(65536))
        case .seccompFD: return [11]
        case .mountFD(let i): return [12] + withUnsafeBytes(of: i.littleEndian) { Array($0) }
        }
    }

    init?(bytes: ArraySlice<UInt8>) {
        guard let t = bytes.first else { return nil }
        let payload = bytes.dropFirst()
        switch t {
        case 1: self = .go
        case 2: self = .needMappings
        case 3: self = .mappingsDone
        case 4:
            guard payload.count == 4 else { return nil }
            var v: Int32 = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: payload) }
            self = .initPid(Int32(littleEndian: v))
        case 5: self = .pidKnown(String(decoding: payload, as: UTF8.self))
        case 6: self = .runHooks
        case 7: self = .hooksDone
        case 8: self = .ready
        case 9: self = .error(String(decoding: payload, as: UTF8.self))
        case 10: self = .hookFailed(String(decoding: payload, as: UTF8.self))
        case 11: self = .seccompFD
        case 12:
            guard payload.count == 4 else { return nil }
            var v: Int32 = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: payload) }
            self = .mountFD(Int32(littleEndian: v))
        default: return nil
        }
    }
}

/// One end of the sync socketpair.
struct SyncChannel {
    let fd: Int32

    static func pair() throws -> (parent: SyncChannel, child: SyncChannel) {
        var fds: [Int32] = [0, 0]
        try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (SyncChannel(fd: fds[0]), SyncChannel(fd: fds[1]))
    }

    /// Packets carry at most this many bytes: a bigger message (a state with 250 KB of
    /// annotations) goes as `more` packets and a `last` one, since one packet may not exceed
    /// the socket buffer (net.core.wmem_default, about 208 KiB) or the 64 KiB receive buffer.
    static let packetLimit = 32768
    static let more: UInt8 = 0x80, last: UInt8 = 0x81

    /// Sends a message. When the other side already failed and exited, its `.error` is still
    /// queued here: that error is thrown rather than a bare "Broken pipe".
    func send(_ m: SyncMessage) throws {
        let b = m.bytes
        if b.count <= SyncChannel.packetLimit { return try sendPacket(b) }
        var off = 0
        while off < b.count {
            let end = min(off + SyncChannel.packetLimit, b.count)
            try sendPacket([end == b.count ? SyncChannel.last : SyncChannel.more] + b[off..<end])
            off = end
        }
    }

    private func sendPacket(_ b: [UInt8]) throws {
        var n = -1
        repeat { n = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } } while n < 0 && errno == EINTR
        guard n < 0 else { return }
        let e = errno
        if e == EPIPE || e == ECONNRESET {
            while case let (message?, passed) = (try? receiveWithFD()) ?? (nil, -1) {
                if passed >= 0 { Glibc.close(passed) }
                if case .error(let text) = message { throw RuntimeError(text) }
                if case .hookFailed(let text) = message { throw HookFailure(description: text) }
            }
        }
        throw SysError("send to the container process", errno: e)
    }

    /// The next message, or nil when the other side closed (it exited or exec'd).
    func receive() throws -> SyncMessage? { try receiveWithFD().message }

    /// The next message and the fd that came with it (SCM_RIGHTS), or -1.
    func receiveWithFD() throws -> (message: SyncMessage?, fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 65536)
        var passed: Int32 = -1
        // A peer that exits with our last message unread leaves ECONNRESET pending, which the
        // kernel reports before the messages it sent (its `.error`): that read consumes the
        // pending error, and the next one returns them.
        var resets = 0
        var n = skiff_recv_fd(fd, &passed, &buf, buf.count)
        while n < 0 && errno == ECONNRESET && resets < 2 {
            resets += 1
            n = skiff_recv_fd(fd, &passed, &buf, buf.count)
        }
        if n < 0 { throw SysError("receive from the container process") }
        if n == 0 { return (nil, -1) }
        if buf[0] == SyncChannel.more || buf[0] == SyncChannel.last {
            // A message in several packets: collect them up to the last one.
            var whole: [UInt8] = []
            while true {
                whole += buf[1..<Int(n)]
                if buf[0] == SyncChannel.last { break }
                n = try sys("receive from the container process") { skiff_recv_fd(fd, &passed, &buf, buf.count) }
                guard n > 0, buf[0] == SyncChannel.more || buf[0] == SyncChannel.last else {
                    throw RuntimeError("the container process sent an incomplete message")
                }
            }
            guard let m = SyncMessage(bytes: whole[...]) else {
                throw RuntimeError("container setup sent a message skiff does not understand (type \(whole.first ?? 0))")
            }
            return (m, -1)
        }
        guard let m = SyncMessage(bytes: buf[0..<Int(n)]) else {
            if passed >= 0 { Glibc.close(passed) }
            throw RuntimeError("container setup sent a message skiff does not understand (type \(buf[0]))")
        }
        return (m, passed)
    }

    /// Sends a message with an fd.
    func send(_ m: SyncMessage, fd passed: Int32) throws {
        let b = m.bytes
        if skiff_send_fd(fd, passed, b, b.count) != 0 { throw SysError("send an fd over the sync channel") }
    }

    /// Receives and requires a given message; an `.error` from the child becomes the thrown error.
    func expect(_ wanted: SyncMessage, during phase: String) throws {
        switch try receive() {
        case .some(wanted): return
        case .some(.error(let text)): throw RuntimeError(text)
        case .none: throw RuntimeError("the container process exited during \(phase)")
        case .some(let other): throw RuntimeError("unexpected message \(other) from the container process during \(phase)")
        }
    }

    func close() { Glibc.close(fd) }
}

/// A hook failed: runtime.md says the container is then destroyed and poststop hooks run.
public struct HookFailure: Error, CustomStringConvertible {
    public let description: String
}

/// An error for the user, already worded ("what failed: why").
public struct RuntimeError: Error, CustomStringConvertible {
    public let description: String
    /// Process exit status for the CLI (1 unless said otherwise).
    public let exitCode: Int32
    public init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}
