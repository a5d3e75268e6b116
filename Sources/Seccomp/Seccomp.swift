// linux.seccomp / process.seccomp (config-linux.md "Seccomp").
//
// The filter is built in the parent with libseccomp (names, architectures, flags and actions are
// checked against this host's libseccomp and kernel), exported as a classic BPF program and kept
// in memory. `load()` in the forked child is then a single seccomp(2) call on that program: no
// libseccomp, no allocation, no threads. Like runc's patchbpf, the program gets a short prefix
// that returns ENOSYS for syscall numbers above the highest one the profile names, per
// architecture, so that syscalls newer than the profile fail as "not implemented" (which libc and
// language runtimes handle with a fallback) rather than with the default errno.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSeccomp
import OCISpec

public struct SeccompError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

public final class SeccompProgram {
    /// Syscall names this libseccomp does not know (in profile order, each once); their rules were left out.
    public let skippedSyscalls: [String]
    /// True if the profile uses SCMP_ACT_NOTIFY: `load()` then returns the notify fd.
    public let needsNotify: Bool
    /// The flags passed to seccomp(SECCOMP_SET_MODE_FILTER).
    let kernelFlags: UInt32
    /// The whole program: the ENOSYS prefix (if any) followed by libseccomp's filter.
    let instructions: [sock_filter]
    /// How many instructions of `instructions` are the ENOSYS prefix (0: none).
    let enosysPrefixCount: Int

    init(skipped: [String], needsNotify: Bool, kernelFlags: UInt32, instructions: [sock_filter], enosysPrefixCount: Int) {
        self.skippedSyscalls = skipped
        self.needsNotify = needsNotify
        self.kernelFlags = kernelFlags
        self.instructions = instructions
        self.enosysPrefixCount = enosysPrefixCount
    }

    /// Builds the filter in the parent process (before fork), validating everything against this
    /// host's libseccomp: `path` is the JSON path prefix of the profile ("linux.seccomp" or "process.seccomp").
    /// Unknown syscall names are skipped (runc does the same: profiles list syscalls newer than the kernel/libseccomp);
    /// they are collected in `skippedSyscalls` so the caller can log them at debug level.
    public init(_ profile: Seccomp, path: String) throws {
        let defaultAction = try actionValue(profile.defaultAction, errnoRet: profile.defaultErrnoRet,
                                            path: "\(path).defaultAction", errnoPath: "\(path).defaultErrnoRet")
        if profile.defaultAction == .notify {
            throw SeccompError("\(path).defaultAction: SCMP_ACT_NOTIFY cannot be the default action "
                + "(every syscall, including those that hand the notify fd to the agent, would wait for the agent)")
        }

        guard let ctx = seccomp_init(defaultAction) else {
            throw SeccompError("\(path).defaultAction: libseccomp refused \(profile.defaultAction.rawValue) (seccomp_init failed)")
        }
        defer { seccomp_release(ctx) }

        // The runtime sets no_new_privs itself when process.noNewPrivileges asks for it.
        try check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "\(path): cannot clear SCMP_FLTATR_CTL_NNP")

        // Architectures: the native one is always in the filter (seccomp_init adds it).
        var arches: [UInt32] = [seccomp_arch_native()]
        for (i, name) in profile.architectures.enumerated() {
            let token = resolveArch(name)
            if token == 0 {
                throw SeccompError("\(path).architectures[\(i)]: unknown architecture \"\(name)\" "
                    + "(not known to libseccomp \(libseccompVersion))")
            }
            let rc = seccomp_arch_add(ctx, token)
            if rc < 0 && rc != -EEXIST {
                throw SeccompError("\(path).architectures[\(i)]: cannot add \(name) to the filter: \(errorText(-rc))")
            }
            if !arches.contains(token) { arches.append(token) }
        }

        // Flags: each one is set as the libseccomp attribute that stands for it (which checks that
        // this kernel supports it); the program is loaded with the same seccomp(2) flags.
        var flags: UInt32 = 0
        var waitKillableAt: Int? = nil
        for (i, name) in profile.flags.enumerated() {
            guard let flag = SeccompFlag(rawValue: name) else {
                throw SeccompError("\(path).flags[\(i)]: unknown seccomp flag \"\(name)\" "
                    + "(known: \(SeccompFlag.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let attribute: scmp_filter_attr
            switch flag {
            case .tsync: attribute = SCMP_FLTATR_CTL_TSYNC
            case .log: attribute = SCMP_FLTATR_CTL_LOG
            case .specAllow: attribute = SCMP_FLTATR_CTL_SSB
            case .waitKillableRecv:
                // skiff loads the program itself (seccomp(2), below), so the flag needs no
                // libseccomp support (2.5.4 has none), only a kernel that knows it (5.19).
                guard SeccompSupport.kernelKnowsWaitKillableRecv else {
                    throw SeccompError("\(path).flags[\(i)]: \(name) is not supported by this kernel (it needs Linux 5.19 or later)")
                }
                waitKillableAt = i
                flags |= flag.value
                continue
            }
            let rc = seccomp_attr_set(ctx, attribute, 1)
            if rc < 0 {
                throw SeccompError("\(path).flags[\(i)]: \(name) is not supported by this kernel or "
                    + "libseccomp \(libseccompVersion): \(errorText(-rc))")
            }
            flags |= flag.value
        }

        // SCMP_ACT_NOTIFY.
        var notify = false
        for (i, rule) in profile.syscalls.enumerated() where rule.action == .notify {
            if !notify {
                if seccomp_api_get() < 5 {
                    throw SeccompError("\(path).syscalls[\(i)].action: SCMP_ACT_NOTIFY needs libseccomp API level 5 "
                        + "(libseccomp >= 2.5.0 and Linux >= 5.0); this host has level \(seccomp_api_get())")
                }
                if profile.listenerPath == nil {
                    throw SeccompError("\(path).syscalls[\(i)].action: SCMP_ACT_NOTIFY is used but \(path).listenerPath "
                        + "is not set (nobody would answer the notifications)")
                }
            }
            notify = true
        }
        if let i = waitKillableAt, !notify {
            throw SeccompError("\(path).flags[\(i)]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV applies to SCMP_ACT_NOTIFY rules, "
                + "and this profile has none (the kernel refuses the flag without a listener); remove the flag")
        }
        if notify {
            flags |= UInt32(SECCOMP_FILTER_FLAG_NEW_LISTENER)
            // The kernel refuses TSYNC together with NEW_LISTENER unless failures are reported as ESRCH.
            if flags & SeccompFlag.tsync.value != 0 { flags |= UInt32(SECCOMP_FILTER_FLAG_TSYNC_ESRCH) }
        }

        // Rules.
        var skipped: [String] = []
        var resolved: [String] = []
        var rulesAdded = 0
        for (ri, rule) in profile.syscalls.enumerated() {
            let rulePath = "\(path).syscalls[\(ri)]"
            let action = try actionValue(rule.action, errnoRet: rule.errnoRet,
                                         path: "\(rulePath).action", errnoPath: "\(rulePath).errnoRet")
            var conditions: [scmp_arg_cmp] = []
            var perIndex = [Int](repeating: 0, count: 6)
            for (ai, arg) in rule.args.enumerated() {
                if arg.index > 5 {
                    throw SeccompError("\(rulePath).args[\(ai)].index: \(arg.index) is out of range (0 to 5)")
                }
                perIndex[Int(arg.index)] += 1
                conditions.append(scmp_arg_cmp(arg: arg.index, op: compareOperator(arg.op),
                                               datum_a: arg.value, datum_b: arg.valueTwo))
            }
            if rule.names.isEmpty {
                throw SeccompError("\(rulePath).names: must contain at least one syscall name")
            }
            for (ni, name) in rule.names.enumerated() {
                let nr = name.isEmpty ? -1 : seccomp_syscall_resolve_name(name)
                if nr == -1 /* __NR_SCMP_ERROR */ {
                    if !skipped.contains(name) { skipped.append(name) }
                    continue
                }
                resolved.append(name)
                // libseccomp refuses a rule whose action is the default one; it is redundant anyway.
                if action == defaultAction { continue }
                if perIndex.contains(where: { $0 > 1 }) {
                    // Several conditions on one argument: like runc (and crun), one rule per
                    // condition, so they are ORed (libseccomp refuses them in a single rule).
                    for (ci, var condition) in conditions.enumerated() {
                        let rc = seccomp_rule_add_array(ctx, action, nr, 1, &condition)
                        if rc < 0 {
                            throw SeccompError("\(rulePath).names[\(ni)]: cannot add the rule for \"\(name)\" "
                                + "with args[\(ci)]: \(errorText(-rc))")
                        }
                        rulesAdded += 1
                    }
                } else {
                    let rc = conditions.withUnsafeBufferPointer {
                        seccomp_rule_add_array(ctx, action, nr, UInt32($0.count), $0.baseAddress)
                    }
                    if rc < 0 {
                        throw SeccompError("\(rulePath).names[\(ni)]: cannot add the rule for \"\(name)\": \(errorText(-rc))")
                    }
                    rulesAdded += 1
                }
            }
        }

        // Binary-tree syscall lookup for long profiles, as runc does (the threshold also keeps it
        // away from libseccomp <= 2.5.4's trouble with a tree over no rules). Not fatal if refused.
        if rulesAdded > 32 {
            _ = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        }

        let filter = try exportBPF(ctx, path: path)
        var prefix: [sock_filter] = []
        if enosysStubApplies(profile) {
            prefix = try enosysPrefix(arches: arches, names: resolved, path: path)
        }
        let all = prefix + filter
        if all.count > Int(BPF_MAXINSNS) {
            throw SeccompError("\(path): the filter has \(all.count) BPF instructions, more than the kernel's "
                + "limit of \(BPF_MAXINSNS)")
        }

        skippedSyscalls = skipped
        needsNotify = notify
        kernelFlags = flags
        instructions = all
        enosysPrefixCount = prefix.count
    }

    /// Loads the filter into the calling process (called in the forked child just before execve,
    /// or before dropping capabilities when noNewPrivileges is false). Returns the seccomp notify
    /// fd when `needsNotify`, else -1. One seccomp(2) call: no allocation (except for an error), no threads.
    public func load() throws -> Int32 {
        let rc: Int32 = instructions.withUnsafeBufferPointer { buf in
            var prog = sock_fprog(len: UInt16(buf.count), filter: UnsafeMutablePointer(mutating: buf.baseAddress))
            return skiff_seccomp_set_mode_filter(kernelFlags, &prog)
        }
        if rc < 0 {
            let e = errno
            throw SeccompError("cannot load the seccomp filter (seccomp(SECCOMP_SET_MODE_FILTER, flags \(kernelFlags))): "
                + errorText(e) + (e == EACCES ? " (loading a filter needs CAP_SYS_ADMIN or no_new_privs)" : ""))
        }
        return needsNotify ? rc : -1
    }
}

// MARK: - The compiled program as text (skiff's cache of compiled profiles)

extension SeccompProgram {
    /// Everything `load()` needs, as one line of text: "flags notify prefix skipped,names hex",
    /// each instruction 16 hex digits (code, jt, jf, k).
    public var cacheText: String {
        var out = Array("\(kernelFlags) \(needsNotify ? 1 : 0) \(enosysPrefixCount) \(skippedSyscalls.isEmpty ? "-" : skippedSyscalls.joined(separator: ",")) ".utf8)
        out.reserveCapacity(out.count + instructions.count * 16)
        let digits = Array("0123456789abcdef".utf8)
        func hex(_ v: UInt32, _ n: Int) {
            var shift = (n - 1) * 4
            while shift >= 0 { out.append(digits[Int((v >> UInt32(shift)) & 0xf)]); shift -= 4 }
        }
        for i in instructions {
            hex(UInt32(i.code), 4); hex(UInt32(i.jt), 2); hex(UInt32(i.jf), 2); hex(i.k, 8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The program back from `cacheText`; nil if the text is not one.
    public static func fromCache(_ text: Substring) -> SeccompProgram? {
        // Byte-wise: splitting 25 KB by Characters cost 12 M instructions.
        let bytes = Array(text.utf8)
        var fields: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x20 && fields.count < 4 {
            fields.append(bytes[start..<i])
            start = i + 1
        }
        fields.append(bytes[start...])
        func string(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }
        guard fields.count == 5, let flags = UInt32(string(fields[0])), let notify = Int(string(fields[1])),
              let prefix = Int(string(fields[2])) else { return nil }
        let hex = fields[4]
        let base = hex.startIndex
        guard hex.count % 16 == 0, !hex.isEmpty, hex.count / 16 <= Int(BPF_MAXINSNS), prefix <= hex.count / 16 else { return nil }
        func value(_ from: Int, _ n: Int) -> UInt32? {
            var v: UInt32 = 0
            for c in hex[(base + from)..<(base + from + n)] {
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        var ins: [sock_filter] = []
        ins.reserveCapacity(hex.count / 16)
        var i = 0
        while i < hex.count {
            guard let code = value(i, 4), let jt = value(i + 4, 2), let jf = value(i + 6, 2), let k = value(i + 8, 8) else { return nil }
            ins.append(sock_filter(code: UInt16(code), jt: UInt8(jt), jf: UInt8(jf), k: k))
            i += 16
        }
        let names = string(fields[3])
        let skipped = names == "-" ? [] : names.split(separator: ",").map(String.init)
        return SeccompProgram(skipped: skipped, needsNotify: notify != 0, kernelFlags: flags, instructions: ins, enosysPrefixCount: prefix)
    }

    /// What the compiled program depends on besides the profile: libseccomp's version.
    public static var compilerVersion: String { "libseccomp " + libseccompVersion }
}

// MARK: - Sending the notify fd to the seccomp agent

/// Sends a notify fd to `listenerPath` as config-linux.md says: one connection to the AF_UNIX
/// SOCK_STREAM socket, the container process state `stateJSON` as the payload with the fd in
/// SCM_RIGHTS on the first sendmsg(2), then the connection is closed. `stateJSON` must name the fd:
/// `"fds": ["seccompFd"]` (see `seccompContainerProcessState`). Does not allocate on success.
public func sendSeccompListenerFD(_ fd: Int32, listenerPath: String, stateJSON: String) throws {
    if fd < 0 { throw SeccompError("cannot send the seccomp notify fd: \(fd) is not a file descriptor") }
    var payload = stateJSON
    let ok = payload.withUTF8 { contains($0, "\"seccompFd\"") }
    if !ok {
        throw SeccompError("cannot send the seccomp notify fd: the container process state does not name it "
            + "(it needs \"fds\": [\"seccompFd\"])")
    }

    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let capacity = MemoryLayout.size(ofValue: addr.sun_path)
    var tooLong = false
    var lp = listenerPath
    lp.withUTF8 { src in
        if src.count >= capacity || src.isEmpty { tooLong = true; return }
        withUnsafeMutableBytes(of: &addr.sun_path) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(src))
            dst[src.count] = 0
        }
    }
    if tooLong {
        throw SeccompError("seccomp listenerPath \"\(listenerPath)\" is "
            + (listenerPath.isEmpty ? "empty" : "longer than a unix socket path can be (\(capacity - 1) bytes)"))
    }

    let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if sock < 0 { throw SeccompError("cannot create a unix socket for the seccomp agent: \(errorText(errno))") }
    defer { close(sock) }

    var rc: Int32
    repeat {
        rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(sock, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    } while rc < 0 && errno == EINTR
    if rc < 0 {
        throw SeccompError("cannot connect to the seccomp agent at \(listenerPath): \(errorText(errno))")
    }

    let error: Int32 = payload.withUTF8 { bytes -> Int32 in
        var sent = 0
        // First sendmsg: the fd (SCM_RIGHTS) and as much of the state as the socket takes.
        let space = skiff_cmsg_space_fds(1)
        let first: Int = withUnsafeTemporaryAllocation(byteCount: space, alignment: MemoryLayout<cmsghdr>.alignment) { control in
            control.initializeMemory(as: UInt8.self, repeating: 0)
            var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
            return withUnsafeMutablePointer(to: &iov) { iovp in
                var msg = msghdr()
                msg.msg_iov = iovp
                msg.msg_iovlen = 1
                msg.msg_control = control.baseAddress
                msg.msg_controllen = space
                guard let cmsg = skiff_cmsg_firsthdr(&msg) else { return -Int(EINVAL) }
                cmsg.pointee.cmsg_level = SOL_SOCKET
                cmsg.pointee.cmsg_type = Int32(SCM_RIGHTS)
                cmsg.pointee.cmsg_len = skiff_cmsg_len_fds(1)
                UnsafeMutableRawPointer(skiff_cmsg_data(cmsg)).storeBytes(of: fd, as: Int32.self)
                var n: Int
                repeat { n = sendmsg(sock, &msg, Int32(MSG_NOSIGNAL)) } while n < 0 && errno == EINTR
                return n < 0 ? -Int(errno) : n
            }
        }
        if first < 0 { return Int32(-first) }
        sent = first
        // The rest, if any, without fds.
        while sent < bytes.count {
            let n = send(sock, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            sent += n
        }
        return 0
    }
    if error != 0 {
        throw SeccompError("cannot send the seccomp notify fd to the agent at \(listenerPath): \(errorText(error))")
    }
}

/// The container process state (config-linux.md) that goes with the notify fd: `state` is the
/// runtime.md state of the container, `pid` the container process as the runtime sees it.
public func seccompContainerProcessState(ociVersion: String, pid: Int32, metadata: String?, state: JSON) -> String {
    JSON.obj([
        ("ociVersion", .string(ociVersion)),
        ("fds", .array([.string("seccompFd")])),
        ("pid", .int(pid)),
        ("metadata", metadata.map { JSON.string($0) }),
        ("state", state),
    ]).serialized()
}

// MARK: - Helpers

let libseccompVersion: String = {
    guard let v = seccomp_version() else { return "(unknown version)" }
    return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.micro)"
}()

func errorText(_ e: Int32) -> String {
    guard let s = strerror(e) else { return "errno \(e)" }
    return "\(String(cString: s)) (errno \(e))"
}

private func check(_ rc: Int32, _ what: @autoclosure () -> String) throws {
    if rc < 0 { throw SeccompError("\(what()): \(errorText(-rc))") }
}

private func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
    let n = needle.utf8CodeUnitCount
    if haystack.count < n { return false }
    let p = needle.utf8Start
    var i = 0
    while i + n <= haystack.count {
        var j = 0
        while j < n && haystack[i + j] == p[j] { j += 1 }
        if j == n { return true }
        i += 1
    }
    return false
}

/// The libseccomp value of an action; errnoRet (default EPERM) only for ERRNO and TRACE.
private func actionValue(_ action: SeccompAction, errnoRet: UInt32?, path: String, errnoPath: String) throws -> UInt32 {
    if let e = errnoRet {
        if !action.takesErrno {
            throw SeccompError("\(errnoPath): cannot be used with \(action.rawValue) (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno)")
        }
        if e > 0xffff {
            throw SeccompError("\(errnoPath): \(e) does not fit in the 16 bits of a seccomp return value")
        }
    }
    let ret = errnoRet ?? UInt32(EPERM)
    switch action {
    case .kill, .killThread: return SCMP_ACT_KILL_THREAD
    case .killProcess: return SCMP_ACT_KILL_PROCESS
    case .trap: return SCMP_ACT_TRAP
    case .errno: return skiff_scmp_act_errno(ret)
    case .trace: return skiff_scmp_act_trace(ret)
    case .allow: return SCMP_ACT_ALLOW
    case .log: return SCMP_ACT_LOG
    case .notify: return SCMP_ACT_NOTIFY
    }
}

private func compareOperator(_ op: SeccompOperator) -> scmp_compare {
    switch op {
    case .notEqual: return SCMP_CMP_NE
    case .lessThan: return SCMP_CMP_LT
    case .lessEqual: return SCMP_CMP_LE
    case .equalTo: return SCMP_CMP_EQ
    case .greaterEqual: return SCMP_CMP_GE
    case .greaterThan: return SCMP_CMP_GT
    case .maskedEqual: return SCMP_CMP_MASKED_EQ
    }
}

/// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 if unknown.
private func resolveArch(_ name: String) -> UInt32 {
    let prefix = "SCMP_ARCH_"
    guard name.hasPrefix(prefix), name.count > prefix.count else { return 0 }
    return seccomp_arch_resolve_name(String(name.dropFirst(prefix.count)).lowercased())
}

/// seccomp_export_bpf into a memfd, read back as instructions.
private func exportBPF(_ ctx: scmp_filter_ctx, path: String) throws -> [sock_filter] {
    let fd = skiff_memfd_create_cloexec("skiff-seccomp")
    if fd < 0 { throw SeccompError("\(path): memfd_create for the BPF export: \(errorText(errno))") }
    defer { close(fd) }
    try check(seccomp_export_bpf(ctx, fd), "\(path): cannot generate the BPF program (seccomp_export_bpf)")
    let size = lseek(fd, 0, SEEK_END)
    let insnSize = MemoryLayout<sock_filter>.size
    if size <= 0 || Int(size) % insnSize != 0 {
        throw SeccompError("\(path): libseccomp exported a BPF program of \(size) bytes")
    }
    var program = [sock_filter](repeating: sock_filter(), count: Int(size) / insnSize)
    var done = 0
    let total = Int(size)
    while done < total {
        let n = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, total - done, off_t(done)) }
        if n < 0 {
            if errno == EINTR { continue }
            throw SeccompError("\(path): reading the exported BPF program: \(errorText(errno))")
        }
        if n == 0 { throw SeccompError("\(path): the exported BPF program is truncated") }
        done += n
    }
    return program
}

// MARK: - ENOSYS for syscalls newer than the profile (runc's patchbpf, written anew)

/// The prefix is useless when the default action already lets syscalls through (ALLOW, LOG, and
/// TRACE: a tracer handles new syscalls itself) or already returns ENOSYS.
private func enosysStubApplies(_ profile: Seccomp) -> Bool {
    switch profile.defaultAction {
    case .allow, .log, .trace: return false
    case .errno: return (profile.defaultErrnoRet ?? UInt32(EPERM)) != UInt32(ENOSYS)
    default: return true
    }
}

/// BPF opcodes (linux/filter.h; the macros are not importable).
private enum Op {
    static let ldAbsW: UInt16 = 0x20      // BPF_LD | BPF_W | BPF_ABS
    static let jmpJA: UInt16 = 0x05       // BPF_JMP | BPF_JA
    static let jmpJEQ: UInt16 = 0x15      // BPF_JMP | BPF_JEQ | BPF_K
    static let jmpJGT: UInt16 = 0x25      // BPF_JMP | BPF_JGT | BPF_K
    static let jmpJSET: UInt16 = 0x45     // BPF_JMP | BPF_JSET | BPF_K
    static let retK: UInt16 = 0x06        // BPF_RET | BPF_K
}

/// A BPF instruction whose jumps name labels, resolved once the program is laid out.
private enum Target { case next, label(Int) }
private struct Insn {
    var code: UInt16
    var k: UInt32
    var jt: Target = .next
    var jf: Target = .next
}

/// seccomp_data: `nr` at offset 0, `arch` at offset 4.
private let offsetNr: UInt32 = 0
private let offsetArch: UInt32 = 4
private let x32SyscallBit: UInt32 = 0x4000_0000

/// The prefix: dispatch on the audit architecture; for each one the profile knows syscalls of,
/// a syscall number above the highest one the profile names returns ENOSYS; everything else
/// falls through to libseccomp's filter (which loads what it needs itself).
///
///     ld [arch]; jeq ARCH_1 -> S1; ...; ja FILTER
///     S_i: ld [nr]; (s390: jeq 0 -> ENOSYS); jgt MAX_i -> ENOSYS, FILTER
///     x86_64 with x32: ld [nr]; jset X32_BIT -> X; jgt MAX_64 -> ENOSYS, FILTER; X: jgt MAX_X32 -> ENOSYS, FILTER
///     ENOSYS: ret ERRNO(ENOSYS)
///     FILTER: (libseccomp's program)
private func enosysPrefix(arches: [UInt32], names: [String], path: String) throws -> [sock_filter] {
    let x32 = seccomp_arch_resolve_name("x32")
    let x86_64 = seccomp_arch_resolve_name("x86_64")
    let s390 = seccomp_arch_resolve_name("s390")
    let s390x = seccomp_arch_resolve_name("s390x")

    // Highest syscall number per (audit arch, libseccomp arch): x32 and x86_64 share an audit arch.
    struct Section { var audit: UInt32; var max64: UInt32 = 0; var maxX32: UInt32 = 0; var isS390 = false }
    var sections: [Section] = []
    var unique = Set<String>()
    let names = names.filter { unique.insert($0).inserted }
    for arch in arches {
        var highest: Int32 = 0
        for name in names {
            let nr = seccomp_syscall_resolve_name_arch(arch, name)
            if nr > highest { highest = nr }
        }
        if highest <= 0 { continue }
        let audit = arch == x32 ? x86_64 : arch
        var index = sections.firstIndex { $0.audit == audit }
        if index == nil {
            sections.append(Section(audit: audit, isS390: arch == s390 || arch == s390x))
            index = sections.count - 1
        }
        if arch == x32 { sections[index!].maxX32 = UInt32(highest) } else { sections[index!].max64 = UInt32(highest) }
    }
    if sections.isEmpty { return [] }

    let labelEnosys = 0, labelFilter = 1
    var labels = [Int](repeating: -1, count: 2 + 2 * sections.count)
    func sectionLabel(_ i: Int) -> Int { 2 + 2 * i }
    func x32Label(_ i: Int) -> Int { 3 + 2 * i }

    var code: [Insn] = [Insn(code: Op.ldAbsW, k: offsetArch)]
    for (i, s) in sections.enumerated() {
        code.append(Insn(code: Op.jmpJEQ, k: s.audit, jt: .label(sectionLabel(i)), jf: .next))
    }
    code.append(Insn(code: Op.jmpJA, k: 0, jt: .label(labelFilter)))   // jt holds the JA target
    for (i, s) in sections.enumerated() {
        labels[sectionLabel(i)] = code.count
        code.append(Insn(code: Op.ldAbsW, k: offsetNr))
        if s.isS390 {
            // Syscall 0 multiplexes large syscall numbers on s390; an unknown one stays 0.
            code.append(Insn(code: Op.jmpJEQ, k: 0, jt: .label(labelEnosys), jf: .next))
        }
        if s.audit == x86_64 {
            switch (s.max64 > 0, s.maxX32 > 0) {
            case (true, true):
                code.append(Insn(code: Op.jmpJSET, k: x32SyscallBit, jt: .label(x32Label(i)), jf: .next))
                code.append(Insn(code: Op.jmpJGT, k: s.max64, jt: .label(labelEnosys), jf: .label(labelFilter)))
                labels[x32Label(i)] = code.count
                code.append(Insn(code: Op.jmpJGT, k: s.maxX32, jt: .label(labelEnosys), jf: .label(labelFilter)))
            case (true, false):
                code.append(Insn(code: Op.jmpJSET, k: x32SyscallBit, jt: .label(labelFilter), jf: .next))
                code.append(Insn(code: Op.jmpJGT, k: s.max64, jt: .label(labelEnosys), jf: .label(labelFilter)))
            default:
                code.append(Insn(code: Op.jmpJSET, k: x32SyscallBit, jt: .next, jf: .label(labelFilter)))
                code.append(Insn(code: Op.jmpJGT, k: s.maxX32, jt: .label(labelEnosys), jf: .label(labelFilter)))
            }
        } else {
            code.append(Insn(code: Op.jmpJGT, k: s.max64, jt: .label(labelEnosys), jf: .label(labelFilter)))
        }
    }
    labels[labelEnosys] = code.count
    code.append(Insn(code: Op.retK, k: skiff_scmp_act_errno(UInt32(ENOSYS))))
    labels[labelFilter] = code.count

    var out: [sock_filter] = []
    out.reserveCapacity(code.count)
    for (pc, insn) in code.enumerated() {
        func offset(_ t: Target) throws -> Int {
            guard case .label(let l) = t else { return 0 }
            return labels[l] - (pc + 1)
        }
        if insn.code == Op.jmpJA {
            out.append(sock_filter(code: insn.code, jt: 0, jf: 0, k: UInt32(try offset(insn.jt))))
            continue
        }
        let jt = try offset(insn.jt), jf = try offset(insn.jf)
        if jt > 255 || jf > 255 || jt < 0 || jf < 0 {
            throw SeccompError("\(path): too many architectures for the ENOSYS prefix (a jump of \(max(jt, jf)) instructions)")
        }
        out.append(sock_filter(code: insn.code, jt: UInt8(jt), jf: UInt8(jf), k: insn.k))
    }
    return out
}

/// What this build and this libseccomp support, for `skiff features`.
public enum SeccompSupport {
    /// The architecture names (SCMP_ARCH_*) libseccomp resolves.
    public static func architectures(_ candidates: [String]) -> [String] {
        candidates.filter { resolveArch($0) != 0 }
    }

    /// Flags a profile may use here (WAIT_KILLABLE_RECV: Linux 5.19 or later).
    public static var supportedFlags: [SeccompFlag] {
        SeccompFlag.allCases.filter { $0 != .waitKillableRecv || kernelKnowsWaitKillableRecv }
    }

    /// Linux 5.19 added SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
    static var kernelKnowsWaitKillableRecv: Bool {
        var u = utsname()
        guard uname(&u) == 0 else { return false }
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return parts[0] > 5 || (parts[0] == 5 && parts[1] >= 19)
    }
}
