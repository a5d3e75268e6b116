// Real filters, loaded in forked children (the tests run as root). A child only loads the
// filter, makes a syscall or two and `_exit`s with the errno it saw; the parent checks how it ended.

import Testing
import Glibc
import CSeccomp
import OCISpec
@testable import Seccomp

// MARK: - Helpers

// libc functions the Glibc module does not export (sys/personality.h, _GNU_SOURCE sched.h).
let personality = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "personality")!,
                                to: (@convention(c) (UInt) -> Int32).self)
let unshare = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "unshare")!,
                            to: (@convention(c) (Int32) -> Int32).self)
let CLONE_NEWUSER: Int32 = 0x1000_0000

enum Outcome: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let c): return "exited(\(c))"
        case .signaled(let s): return "signaled(\(s))"
        }
    }
}

/// Exit code of a child whose `load()` failed.
let loadFailed: Int32 = 200

func wait(_ pid: pid_t) -> Outcome {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
    return .signaled(status & 0x7f)
}

/// Forks; the child loads `program` and exits with `body()`.
func runInChild(_ program: SeccompProgram, _ body: () -> Int32) -> Outcome {
    _ = (personality, unshare)   // lazy globals: initialized here, not in the child
    let pid = fork()
    precondition(pid >= 0, "fork failed")
    if pid == 0 {
        signal(SIGSYS, SIG_DFL)
        do { _ = try program.load() } catch { _exit(loadFailed) }
        _exit(body())
    }
    return wait(pid)
}

/// errno of a call that returned -1, or 0.
@inline(__always) func err(_ rc: Int32) -> Int32 { rc == -1 ? errno : 0 }

func rule(_ names: [String], _ action: SeccompAction, errno: UInt32? = nil, args: [SeccompArg] = []) -> SeccompSyscall {
    SeccompSyscall(names: names, action: action, errnoRet: errno, args: args)
}

func build(_ profile: Seccomp, path: String = "linux.seccomp") throws -> SeccompProgram {
    try SeccompProgram(profile, path: path)
}

/// The SeccompError description of `body`, or nil if it did not throw one.
func errorText(_ body: () throws -> Void) -> String? {
    do { try body() } catch let e as SeccompError { return e.description } catch { return "other error: \(error)" }
    return nil
}

var counter = 0
let counterLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
let counterInit: Void = { pthread_mutex_init(counterLock, nil) }()

/// A fresh path under /tmp (nothing created).
func scratchPath(_ tag: String) -> String {
    _ = counterInit
    pthread_mutex_lock(counterLock)
    counter += 1
    let n = counter
    pthread_mutex_unlock(counterLock)
    return "/tmp/skiff-seccomp-test-\(getpid())-\(n)-\(tag)"
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A directory that must not exist after a denied mkdir (removed if it does).
func mkdirTarget(_ tag: String) -> String { scratchPath(tag) }
func cleanup(_ path: String) { rmdir(path) }

let personalityDenied: Int32 = 77

/// Runs personality(x) under `profile`; true if it was denied with errno 77.
func personalityDeniedFor(_ program: SeccompProgram, _ x: UInt) -> Bool {
    runInChild(program) { err(personality(x)) == personalityDenied ? 1 : 0 } == .exited(1)
}

// MARK: - Actions

@Test func denyMkdirWithErrnoRet42() throws {
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [rule(["mkdir"], .errno, errno: 42)]))
    #expect(program.needsNotify == false)
    #expect(program.enosysPrefixCount == 0)   // default ALLOW: no ENOSYS prefix
    let dir = mkdirTarget("mkdir42")
    defer { cleanup(dir) }
    let outcome = runInChild(program) {
        let e = err(mkdir(dir, 0o700))
        if getpid() <= 0 || getppid() <= 0 { return 101 }
        return e
    }
    #expect(outcome == .exited(42))
    #expect(access(dir, F_OK) != 0)
}

@Test func errnoWithoutErrnoRetIsEPERM() throws {
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [rule(["mkdir"], .errno)]))
    let dir = mkdirTarget("eperm")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(EPERM))
}

@Test func defaultErrnoRetWithAllowList() throws {
    // Unlisted syscalls get defaultErrnoRet; getpid and exit_group are allowed.
    for ret: UInt32 in [38, 39] {
        let program = try build(Seccomp(defaultAction: .errno, defaultErrnoRet: ret,
                                        syscalls: [rule(["exit_group", "exit", "getpid"], .allow)]))
        let dir = mkdirTarget("default\(ret)")
        defer { cleanup(dir) }
        let outcome = runInChild(program) {
            if getpid() <= 0 { return 101 }
            return err(mkdir(dir, 0o700))   // mkdir (83) is below exit_group (231): the default errno
        }
        #expect(outcome == .exited(Int32(ret)))
    }
}

@Test func defaultErrnoWithoutRetIsEPERM() throws {
    let program = try build(Seccomp(defaultAction: .errno, syscalls: [rule(["exit_group", "getpid"], .allow)]))
    let dir = mkdirTarget("defeperm")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(EPERM))
}

@Test(arguments: [SeccompAction.killProcess, .kill, .killThread, .trap])
func killingActionsRaiseSIGSYS(_ action: SeccompAction) throws {
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [rule(["mkdir"], action)]))
    let dir = mkdirTarget("kill")
    defer { cleanup(dir) }
    #expect(runInChild(program) { mkdir(dir, 0o700); return 0 } == .signaled(SIGSYS))
}

@Test func defaultKillProcess() throws {
    let program = try build(Seccomp(defaultAction: .killProcess,
                                    syscalls: [rule(["exit_group", "getpid"], .allow)]))
    let dir = mkdirTarget("defkill")
    defer { cleanup(dir) }
    #expect(runInChild(program) { _ = getpid(); return 0 } == .exited(0))
    #expect(runInChild(program) { mkdir(dir, 0o700); return 0 } == .signaled(SIGSYS))
}

@Test func traceWithoutTracerIsENOSYS() throws {
    // With no tracer attached the kernel fails a SECCOMP_RET_TRACE syscall with ENOSYS.
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [rule(["mkdir"], .trace, errno: 7)]))
    let dir = mkdirTarget("trace")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(ENOSYS))
}

@Test(arguments: [SeccompAction.allow, .log])
func allowAndLogLetTheSyscallRun(_ action: SeccompAction) throws {
    let program = try build(Seccomp(defaultAction: .errno, defaultErrnoRet: 99,
                                    syscalls: [rule(["exit_group", "mkdir"], action)]))
    let dir = mkdirTarget("allow")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(0))
    #expect(access(dir, F_OK) == 0)
}

@Test func ruleWithTheDefaultActionIsSkipped() throws {
    // libseccomp refuses such a rule; like runc it is left out (and the profile still works).
    let program = try build(Seccomp(defaultAction: .errno, defaultErrnoRet: 42, syscalls: [
        rule(["exit_group", "getpid"], .allow),
        rule(["mkdir"], .errno, errno: 42),
        rule(["getpid"], .allow),
    ]))
    let dir = mkdirTarget("same")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(42))
}

// MARK: - Argument comparisons

@Test func everyOperator() throws {
    // (operator, value, valueTwo, argument that matches, argument that does not)
    let cases: [(SeccompOperator, UInt64, UInt64, UInt, UInt)] = [
        (.notEqual, 5, 0, 6, 5),
        (.lessThan, 5, 0, 4, 5),
        (.lessEqual, 5, 0, 5, 6),
        (.equalTo, 5, 0, 5, 4),
        (.greaterEqual, 5, 0, 5, 4),
        (.greaterThan, 5, 0, 6, 5),
        (.maskedEqual, 0xf0, 0x20, 0x25, 0x35),
        (.equalTo, 0xffff_ffff, 0, 0xffff_ffff, 0),
    ]
    for (op, value, valueTwo, match, miss) in cases {
        let arg = SeccompArg(index: 0, value: value, valueTwo: valueTwo, op: op)
        let program = try build(Seccomp(defaultAction: .allow, syscalls: [
            rule(["personality"], .errno, errno: UInt32(personalityDenied), args: [arg]),
        ]))
        #expect(personalityDeniedFor(program, match), "\(op.rawValue) \(value): \(match) should match")
        #expect(!personalityDeniedFor(program, miss), "\(op.rawValue) \(value): \(miss) should not match")
    }
}

@Test func personalityAllowedOnlyForQuery() throws {
    // Docker-style: personality allowed only when arg0 == 0xffffffff (query), EPERM otherwise.
    let program = try build(Seccomp(defaultAction: .errno, syscalls: [
        rule(["exit_group"], .allow),
        rule(["personality"], .allow, args: [SeccompArg(index: 0, value: 0xffff_ffff, op: .equalTo)]),
    ]))
    #expect(runInChild(program) { err(personality(0xffff_ffff)) } == .exited(0))
    #expect(runInChild(program) { err(personality(0x0040000)) } == .exited(EPERM))
}

@Test func socketDeniedForInet6Only() throws {
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [
        rule(["socket"], .errno, errno: UInt32(EAFNOSUPPORT),
             args: [SeccompArg(index: 0, value: UInt64(AF_INET6), op: .equalTo)]),
    ]))
    #expect(runInChild(program) { err(socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)) } == .exited(EAFNOSUPPORT))
    #expect(runInChild(program) { err(socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)) } == .exited(0))
}

@Test func argsOnDifferentIndexesAreANDed() throws {
    let who: UInt64 = 123_456
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [
        rule(["getpriority"], .errno, errno: 77, args: [
            SeccompArg(index: 0, value: UInt64(PRIO_PROCESS.rawValue), op: .equalTo),
            SeccompArg(index: 1, value: who, op: .equalTo),
        ]),
    ]))
    func call(_ which: UInt32, _ id: UInt64) -> Outcome {
        runInChild(program) {
            errno = 0
            _ = getpriority(__priority_which_t(which), id_t(id))
            return errno == 77 ? 1 : 0
        }
    }
    #expect(call(PRIO_PROCESS.rawValue, who) == .exited(1))
    #expect(call(PRIO_PROCESS.rawValue, 0) == .exited(0))
    #expect(call(PRIO_PGRP.rawValue, who) == .exited(0))
}

@Test func severalConditionsOnOneArgumentAreORed() throws {
    // As runc and crun: libseccomp cannot AND two conditions on one argument, so each becomes its own rule.
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [
        rule(["personality"], .errno, errno: 77, args: [
            SeccompArg(index: 0, value: 5, op: .equalTo),
            SeccompArg(index: 0, value: 6, op: .equalTo),
        ]),
    ]))
    #expect(personalityDeniedFor(program, 5))
    #expect(personalityDeniedFor(program, 6))
    #expect(!personalityDeniedFor(program, 7))
}

@Test func severalRulesForOneSyscall() throws {
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [
        rule(["personality"], .errno, errno: 77, args: [SeccompArg(index: 0, value: 5, op: .equalTo)]),
        rule(["personality"], .errno, errno: 78, args: [SeccompArg(index: 0, value: 6, op: .equalTo)]),
    ]))
    #expect(runInChild(program) { err(personality(5)) } == .exited(77))
    #expect(runInChild(program) { err(personality(6)) } == .exited(78))
    #expect(runInChild(program) { err(personality(0xffff_ffff)) } == .exited(0))
}

// MARK: - Names, architectures, flags, validation

@Test func unknownSyscallNamesAreSkippedAndReported() throws {
    let program = try build(Seccomp(defaultAction: .allow, syscalls: [
        rule(["skiff_no_such_syscall", "mkdir", "another_bogus_call"], .errno, errno: 42),
        rule(["skiff_no_such_syscall"], .errno, errno: 43),
    ]))
    #expect(program.skippedSyscalls == ["skiff_no_such_syscall", "another_bogus_call"])
    let dir = mkdirTarget("skipped")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(42))
}

@Test func architectures() throws {
    let ok = try build(Seccomp(defaultAction: .allow, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                               syscalls: [rule(["mkdir"], .errno, errno: 42)]))
    let dir = mkdirTarget("arch")
    defer { cleanup(dir) }
    #expect(runInChild(ok) { err(mkdir(dir, 0o700)) } == .exited(42))

    let unknown = errorText {
        _ = try build(Seccomp(architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_BOGUS"]))
    }
    #expect(unknown?.hasPrefix("linux.seccomp.architectures[1]: ") == true, "\(unknown ?? "no error")")
    #expect(unknown?.contains("SCMP_ARCH_BOGUS") == true)

    let prefixless = errorText { _ = try build(Seccomp(architectures: ["x86_64"]), path: "process.seccomp") }
    #expect(prefixless?.hasPrefix("process.seccomp.architectures[0]: ") == true, "\(prefixless ?? "no error")")
}

@Test func flags() throws {
    let program = try build(Seccomp(defaultAction: .allow,
                                    flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                                    syscalls: [rule(["mkdir"], .errno, errno: 42)]))
    #expect(program.kernelFlags == 1 | 2 | 4)
    let dir = mkdirTarget("flags")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(42))

    let unknown = errorText { _ = try build(Seccomp(flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"])) }
    #expect(unknown?.hasPrefix("linux.seccomp.flags[1]: ") == true, "\(unknown ?? "no error")")
    #expect(unknown?.contains("SECCOMP_FILTER_FLAG_BOGUS") == true)
}

@Test func waitKillableRecvNeedsANotifyRule() throws {
    let text = errorText {
        _ = try build(Seccomp(flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]), path: "process.seccomp")
    }
    #expect(text?.hasPrefix("process.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV applies to SCMP_ACT_NOTIFY rules") == true,
            "\(text ?? "no error")")
}

@Test func validationErrorsNameThePath() throws {
    let notifyDefault = errorText { _ = try build(Seccomp(defaultAction: .notify)) }
    #expect(notifyDefault?.hasPrefix("linux.seccomp.defaultAction: ") == true, "\(notifyDefault ?? "no error")")

    let errnoOnAllow = errorText {
        _ = try build(Seccomp(syscalls: [rule(["getpid"], .errno), rule(["mkdir"], .allow, errno: 3)]))
    }
    #expect(errnoOnAllow?.hasPrefix("linux.seccomp.syscalls[1].errnoRet: ") == true, "\(errnoOnAllow ?? "no error")")

    let bigErrno = errorText { _ = try build(Seccomp(defaultAction: .errno, defaultErrnoRet: 70000)) }
    #expect(bigErrno?.hasPrefix("linux.seccomp.defaultErrnoRet: ") == true, "\(bigErrno ?? "no error")")

    let badIndex = errorText {
        _ = try build(Seccomp(syscalls: [rule(["mkdir"], .errno, args: [SeccompArg(index: 6, value: 1, op: .equalTo)])]))
    }
    #expect(badIndex?.hasPrefix("linux.seccomp.syscalls[0].args[0].index: ") == true, "\(badIndex ?? "no error")")

    let noListener = errorText { _ = try build(Seccomp(syscalls: [rule(["getpid"], .allow), rule(["mkdir"], .notify)])) }
    #expect(noListener?.hasPrefix("linux.seccomp.syscalls[1].action: ") == true, "\(noListener ?? "no error")")
    #expect(noListener?.contains("listenerPath") == true)
}

@Test func decodedProfile() throws {
    let text = """
    {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
                  {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
                   "args": [{"index": 0, "value": 240, "valueTwo": 32, "op": "SCMP_CMP_MASKED_EQ"}]}]}
    """
    let profile = try Seccomp(from: Node(try JSONParser.parse(text), path: "linux.seccomp"))
    let program = try build(profile)
    let dir = mkdirTarget("decoded")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(42))
    #expect(personalityDeniedFor(program, 0x25))
    #expect(!personalityDeniedFor(program, 0x35))
}

// MARK: - ENOSYS for syscalls newer than the profile

@Test func enosysAboveTheHighestListedSyscall() throws {
    // exit_group (231) is the highest syscall named: mkdirat (258) is "newer" and gets ENOSYS,
    // mkdir (83) is merely not allowed and gets the default errno.
    let program = try build(Seccomp(defaultAction: .errno, syscalls: [rule(["exit_group", "getpid"], .allow)]))
    #expect(program.enosysPrefixCount > 0)
    let dir = mkdirTarget("enosys")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdirat(AT_FDCWD, dir, 0o700)) } == .exited(ENOSYS))
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(EPERM))

    // Also instead of killing.
    let killing = try build(Seccomp(defaultAction: .killProcess, syscalls: [rule(["exit_group", "getpid"], .allow)]))
    #expect(runInChild(killing) { err(mkdirat(AT_FDCWD, dir, 0o700)) } == .exited(ENOSYS))
    #expect(runInChild(killing) { mkdir(dir, 0o700); return 0 } == .signaled(SIGSYS))

    // A name that is listed but whose rule is the default action still counts as known.
    let listed = try build(Seccomp(defaultAction: .errno, syscalls: [
        rule(["exit_group", "getpid"], .allow), rule(["mkdirat"], .errno),
    ]))
    #expect(runInChild(listed) { err(mkdirat(AT_FDCWD, dir, 0o700)) } == .exited(EPERM))
}

@Test func noEnosysPrefixWhenNotUseful() throws {
    for profile in [
        Seccomp(defaultAction: .allow, syscalls: [rule(["mkdir"], .errno)]),
        Seccomp(defaultAction: .log, syscalls: [rule(["mkdir"], .errno)]),
        Seccomp(defaultAction: .trace, syscalls: [rule(["mkdir"], .errno)]),
        Seccomp(defaultAction: .errno, defaultErrnoRet: UInt32(ENOSYS), syscalls: [rule(["exit_group"], .allow)]),
    ] {
        #expect(try build(profile).enosysPrefixCount == 0)
    }
}

@Test func enosysPrefixWithSeveralArchitectures() throws {
    let program = try build(Seccomp(defaultAction: .errno,
                                    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                                    syscalls: [rule(["exit_group", "getpid"], .allow)]))
    // The prefix, instruction by instruction (x86_64 and x32 share AUDIT_ARCH_X86_64; the
    // highest syscall named is exit_group: 231 on x86_64, 231|0x40000000 on x32, 252 on i386).
    let expected: [(UInt16, UInt8, UInt8, UInt32)] = [
        (0x20, 0, 0, 4),                        // 0: ld [arch]
        (0x15, 2, 0, 0xc000_003e),              // 1: jeq AUDIT_ARCH_X86_64 -> 4
        (0x15, 5, 0, 0x4000_0003),              // 2: jeq AUDIT_ARCH_I386 -> 8
        (0x05, 0, 0, 7),                        // 3: ja filter (11)
        (0x20, 0, 0, 0),                        // 4: ld [nr]
        (0x45, 1, 0, 0x4000_0000),              // 5: jset X32 bit -> 7
        (0x25, 3, 4, 231),                      // 6: jgt 231 -> ENOSYS (10) : filter (11)
        (0x25, 2, 3, 0x4000_0000 | 231),        // 7: jgt x32 exit_group -> 10 : 11
        (0x20, 0, 0, 0),                        // 8: ld [nr]
        (0x25, 0, 1, 252),                      // 9: jgt 252 -> 10 : 11
        (0x06, 0, 0, 0x0005_0000 | 38),         // 10: ret ERRNO(ENOSYS)
    ]
    #expect(program.enosysPrefixCount == expected.count)
    for (i, e) in expected.enumerated() where i < program.instructions.count {
        let insn = program.instructions[i]
        #expect(insn.code == e.0 && insn.jt == e.1 && insn.jf == e.2 && insn.k == e.3,
                "instruction \(i): \(insn) != \(e)")
    }
    // libseccomp's own program follows, starting with its own load of the architecture.
    #expect(program.instructions[expected.count].code == 0x20 && program.instructions[expected.count].k == 4)
    let dir = mkdirTarget("enosys-arches")
    defer { cleanup(dir) }
    #expect(runInChild(program) { err(mkdirat(AT_FDCWD, dir, 0o700)) } == .exited(ENOSYS))
    #expect(runInChild(program) { err(mkdir(dir, 0o700)) } == .exited(EPERM))
}

/// A 256-byte static i386 ELF (assembled from the comment below) that exits with the errno of
/// one `int $0x80`: syscall 300 when run without arguments, mkdir(NULL) (39) with one.
///
///     _start: mov (%esp), %ecx; mov $300, %eax; cmp $1, %ecx; je 1f
///             mov $39, %eax; xor %ebx, %ebx
///     1:      int $0x80; neg %eax; mov %eax, %ebx; mov $1, %eax; int $0x80
let i386Probe: [UInt8] = [
    0x7f, 0x45, 0x4c, 0x46, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x54, 0x80, 0x04, 0x08, 0x34, 0x00, 0x00, 0x00,
    0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x34, 0x00, 0x20, 0x00, 0x01, 0x00, 0x28, 0x00,
    0x03, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x54, 0x00, 0x00, 0x00, 0x54, 0x80, 0x04, 0x08,
    0x54, 0x80, 0x04, 0x08, 0x21, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x8b, 0x0c, 0x24, 0xb8, 0x2c, 0x01, 0x00, 0x00, 0x83, 0xf9, 0x01, 0x74,
    0x07, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80, 0xf7, 0xd8, 0x89, 0xc3, 0xb8, 0x01,
    0x00, 0x00, 0x00, 0xcd, 0x80, 0x00, 0x2e, 0x73, 0x68, 0x73, 0x74, 0x72, 0x74, 0x61, 0x62, 0x00,
    0x2e, 0x74, 0x65, 0x78, 0x74, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x54, 0x80, 0x04, 0x08,
    0x54, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x75, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
]

/// Runs the i386 probe (with `arg` or without) in a child that first loads `program` (if any).
func runI386Probe(_ program: SeccompProgram?, path: String, arg: Bool) -> Outcome {
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), arg ? strdup("x") : nil, nil]
    defer { argv.forEach { free($0) } }
    let envp: [UnsafeMutablePointer<CChar>?] = [nil]
    let pid = fork()
    precondition(pid >= 0)
    if pid == 0 {
        if let program { do { _ = try program.load() } catch { _exit(loadFailed) } }
        execve(path, argv, envp)
        _exit(127)
    }
    return wait(pid)
}

@Test func enosysPrefixForI386Processes() throws {
    let path = scratchPath("i386-probe")
    defer { unlink(path) }
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
    #expect(fd >= 0)
    #expect(i386Probe.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == i386Probe.count)
    close(fd)
    // Without a filter: syscall 300 with garbage arguments and mkdir(NULL) both fail with EFAULT.
    guard runI386Probe(nil, path: path, arg: false) == .exited(EFAULT) else {
        print("enosysPrefixForI386Processes: this kernel cannot run i386 binaries; not tested")
        return
    }
    let program = try build(Seccomp(defaultAction: .errno, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                    syscalls: [rule(["execve", "exit", "exit_group", "getpid"], .allow)]))
    // i386: the highest syscall named is exit_group (252): 300 is "newer", mkdir (39) is just not allowed.
    #expect(runI386Probe(program, path: path, arg: false) == .exited(ENOSYS))
    #expect(runI386Probe(program, path: path, arg: true) == .exited(EPERM))

    // Without SCMP_ARCH_X86 in the profile, i386 syscalls get libseccomp's bad-architecture action (kill).
    let nativeOnly = try build(Seccomp(defaultAction: .errno, syscalls: [rule(["execve", "exit", "exit_group"], .allow)]))
    #expect(runI386Probe(nativeOnly, path: path, arg: false) == .signaled(SIGSYS))
}

// MARK: - Docker's default profile

func fixture(_ name: String) throws -> String {
    let here = String(#filePath)
    let dir = here[..<here.lastIndex(of: "/")!]
    let path = "\(dir)/fixtures/\(name)"
    guard let f = fopen(path, "r") else { throw SeccompError("cannot open \(path)") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

@Test func dockerDefaultProfile() throws {
    let profile = try Seccomp(from: Node(try JSONParser.parse(try fixture("docker-default.json")), path: "linux.seccomp"))

    let t0 = monotonicNanos()
    let program = try build(profile)
    let buildNanos = monotonicNanos() - t0

    // The child writes its load time here (MAP_SHARED survives the fork).
    let shared = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)!
    defer { munmap(shared, 4096) }
    let loadNanos = shared.assumingMemoryBound(to: UInt64.self)
    loadNanos.pointee = 0

    let pid = fork()
    precondition(pid >= 0)
    if pid == 0 {
        let me = getpid()
        let t = monotonicNanos()
        do { _ = try program.load() } catch { _exit(loadFailed) }
        loadNanos.pointee = monotonicNanos() - t
        if getpid() != me { _exit(101) }
        if err(personality(0xffff_ffff)) != 0 { _exit(102) }                       // allowed: query
        if err(personality(0x0040000)) != EPERM { _exit(103) }                     // not in the list
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if s < 0 { _exit(104) }
        if err(socket(40 /* AF_VSOCK */, Int32(SOCK_STREAM.rawValue), 0)) != EPERM { _exit(105) }
        if err(chroot("/nonexistent-skiff")) != ENOENT { _exit(106) }              // CAP_SYS_CHROOT is a default cap
        if err(mount("none", "/nonexistent-skiff", "tmpfs", 0, nil)) != EPERM { _exit(107) }
        _exit(err(unshare(CLONE_NEWUSER)))
    }
    let outcome = wait(pid)
    #expect(outcome == .exited(EPERM), "unshare(CLONE_NEWUSER) must be denied with EPERM; got \(outcome)")
    print("""
        docker default profile: \(profile.syscalls.count) rules, \(profile.syscalls.reduce(0) { $0 + $1.names.count }) names, \
        \(program.instructions.count) BPF instructions (ENOSYS prefix \(program.enosysPrefixCount)); \
        build \(Double(buildNanos) / 1e6) ms in the parent, load \(Double(loadNanos.pointee) / 1e6) ms in the child; \
        skipped: \(program.skippedSyscalls)
        """)
}

// MARK: - SCMP_ACT_NOTIFY

/// Waits up to `ms` for `fd` to be readable.
func waitReadable(_ fd: Int32, ms: Int32 = 10_000) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&p, 1, ms) == 1 && p.revents & Int16(POLLIN) != 0
}

/// Accepts one connection on `listener`; returns the fd received with SCM_RIGHTS and the whole payload.
func receiveFD(_ listener: Int32) throws -> (fd: Int32, payload: String) {
    guard waitReadable(listener) else { throw SeccompError("no connection from the child") }
    let conn = accept(listener, nil, nil)
    guard conn >= 0 else { throw SeccompError("accept: \(errno)") }
    defer { close(conn) }
    var payload: [UInt8] = []
    var fd: Int32 = -1
    var buf = [UInt8](repeating: 0, count: 65536)
    let space = skiff_cmsg_space_fds(1)
    let control = UnsafeMutableRawPointer.allocate(byteCount: space, alignment: 8)
    defer { control.deallocate() }
    while true {
        guard waitReadable(conn) else { throw SeccompError("the child sent nothing") }
        let n: Int = buf.withUnsafeMutableBytes { b in
            var iov = iovec(iov_base: b.baseAddress, iov_len: b.count)
            var msg = msghdr()
            msg.msg_control = control
            msg.msg_controllen = space
            return withUnsafeMutablePointer(to: &iov) { iovp in
                msg.msg_iov = iovp
                msg.msg_iovlen = 1
                let n = recvmsg(conn, &msg, Int32(MSG_CMSG_CLOEXEC))
                if n >= 0, msg.msg_controllen > 0, let c = skiff_cmsg_firsthdr(&msg),
                   c.pointee.cmsg_level == SOL_SOCKET, c.pointee.cmsg_type == Int32(SCM_RIGHTS) {
                    fd = UnsafeRawPointer(skiff_cmsg_data(c)).load(as: Int32.self)
                }
                return n
            }
        }
        if n < 0 { throw SeccompError("recvmsg: \(errno)") }
        if n == 0 { break }
        payload += buf[0..<n]
    }
    return (fd, String(decoding: payload, as: UTF8.self))
}

/// The same with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (loaded by skiff itself: libseccomp 2.5.4
/// has no attribute for it).
@Test(arguments: [false, true]) func notifyAgentAnswersMkdir(waitKillable: Bool) throws {
    let socketPath = scratchPath(waitKillable ? "agent-wk.sock" : "agent.sock")
    defer { unlink(socketPath) }
    let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    #expect(listener >= 0)
    defer { close(listener) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { dst in
        let bytes = Array(socketPath.utf8)
        dst.copyBytes(from: bytes)
        dst[bytes.count] = 0
    }
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    #expect(bound == 0)
    #expect(listen(listener, 1) == 0)

    let profile = Seccomp(defaultAction: .allow, flags: waitKillable ? ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] : [],
                          listenerPath: socketPath, listenerMetadata: "MKDIR=yes", syscalls: [rule(["mkdir"], .notify)])
    let program = try build(profile)
    #expect(program.needsNotify)
    #expect(program.kernelFlags & UInt32(SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0)
    #expect((program.kernelFlags & 32 != 0) == waitKillable)

    let state = JSON.obj([("ociVersion", .string("1.2.0")), ("id", .string("c1")), ("status", .string("creating")),
                          ("pid", .int(getpid())), ("bundle", .string("/bundle"))])
    let stateJSON = seccompContainerProcessState(ociVersion: "1.2.0", pid: getpid(), metadata: profile.listenerMetadata,
                                                 state: state)
    let dir = mkdirTarget(waitKillable ? "notify-wk" : "notify")
    defer { cleanup(dir) }

    let pid = fork()
    precondition(pid >= 0)
    if pid == 0 {
        let fd: Int32
        do { fd = try program.load() } catch { _exit(loadFailed) }
        if fd < 0 { _exit(201) }
        do { try sendSeccompListenerFD(fd, listenerPath: socketPath, stateJSON: stateJSON) } catch { _exit(202) }
        close(fd)
        _exit(err(mkdir(dir, 0o700)))
    }

    var answered = false
    do {
        let (notifyFD, payload) = try receiveFD(listener)
        defer { if notifyFD >= 0 { close(notifyFD) } }
        #expect(notifyFD >= 0)
        let message = try JSONParser.parse(payload)
        #expect(message["fds"] == .array([.string("seccompFd")]))
        #expect(message["metadata"] == .string("MKDIR=yes"))
        #expect(message["ociVersion"] == .string("1.2.0"))
        #expect(message["state"]?["id"] == .string("c1"))

        var req: UnsafeMutablePointer<seccomp_notif>?
        var resp: UnsafeMutablePointer<seccomp_notif_resp>?
        #expect(seccomp_notify_alloc(&req, &resp) == 0)
        defer { seccomp_notify_free(req, resp) }
        if notifyFD >= 0, let req, let resp, waitReadable(notifyFD) {
            #expect(seccomp_notify_receive(notifyFD, req) == 0)
            #expect(req.pointee.data.nr == seccomp_syscall_resolve_name("mkdir"))
            #expect(req.pointee.pid == UInt32(pid))
            resp.pointee.id = req.pointee.id
            resp.pointee.error = -55
            resp.pointee.val = 0
            resp.pointee.flags = 0
            #expect(seccomp_notify_respond(notifyFD, resp) == 0)
            answered = true
        }
    } catch {
        Issue.record("\(error)")
    }
    if !answered { kill(pid, SIGKILL) }
    #expect(wait(pid) == .exited(55))
    #expect(access(dir, F_OK) != 0)
}

@Test func sendListenerFDErrors() throws {
    let state = seccompContainerProcessState(ociVersion: "1.2.0", pid: 1, metadata: nil, state: .object([]))
    #expect(!state.contains("metadata"))
    let missing = errorText { try sendSeccompListenerFD(0, listenerPath: "/nonexistent/skiff.sock", stateJSON: state) }
    #expect(missing?.contains("cannot connect") == true, "\(missing ?? "no error")")
    let unnamed = errorText { try sendSeccompListenerFD(0, listenerPath: "/tmp/x.sock", stateJSON: "{\"fds\": []}") }
    #expect(unnamed?.contains("seccompFd") == true, "\(unnamed ?? "no error")")
    let long = errorText {
        try sendSeccompListenerFD(0, listenerPath: "/" + String(repeating: "x", count: 200), stateJSON: state)
    }
    #expect(long?.contains("listenerPath") == true, "\(long ?? "no error")")
}

// MARK: - The cache of compiled programs

@Test func cacheTextRoundTripsDockersProfile() throws {
    let profile = try Seccomp(from: Node(try JSONParser.parse(try fixture("docker-default.json")), path: "linux.seccomp"))
    let program = try build(profile)
    let text = program.cacheText
    let back = try #require(SeccompProgram.fromCache(Substring(text)))
    #expect(back.instructions.count == program.instructions.count)
    #expect(zip(back.instructions, program.instructions).allSatisfy { $0.code == $1.code && $0.jt == $1.jt && $0.jf == $1.jf && $0.k == $1.k })
    #expect(back.kernelFlags == program.kernelFlags && back.needsNotify == program.needsNotify)
    #expect(back.enosysPrefixCount == program.enosysPrefixCount && back.skippedSyscalls == program.skippedSyscalls)
    #expect(back.cacheText == text)
    // The loaded copy filters like the original: mount is denied (EPERM), not ENOENT.
    #expect(runInChild(back) { err(mount("none", "/nonexistent-skiff", "tmpfs", 0, nil)) } == .exited(EPERM))
}

@Test func cacheTextThatIsNotOneIsRefused() {
    #expect(SeccompProgram.fromCache("") == nil)
    #expect(SeccompProgram.fromCache("0 0 0 - 00zz000000000000") == nil)
    #expect(SeccompProgram.fromCache("0 0 0 - 0006000000000000 trailing") == nil)
    #expect(SeccompProgram.fromCache("0 0 2 - 0006000000000000") == nil)
    #expect(SeccompProgram.fromCache("0 0 0 - 0006000000000000") != nil)
}
