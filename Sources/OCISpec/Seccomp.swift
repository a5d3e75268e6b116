// `linux.seccomp` (config-linux.md "Seccomp"): libseccomp names for actions, architectures and
// comparison operators.

/// A seccomp filter description.
public struct Seccomp: JSONDecodable {
    public var defaultAction: SeccompAction
    /// Only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE; nil means EPERM.
    public var defaultErrnoRet: UInt32?
    /// "SCMP_ARCH_X86_64" etc.
    public var architectures: [String]
    /// `SeccompFlag` raw values.
    public var flags: [String]
    /// The seccomp agent's socket, for SCMP_ACT_NOTIFY.
    public var listenerPath: String?
    /// Passed to the agent; only with listenerPath.
    public var listenerMetadata: String?
    public var syscalls: [SeccompSyscall]

    public init(defaultAction: SeccompAction = .allow, defaultErrnoRet: UInt32? = nil, architectures: [String] = [],
                flags: [String] = [], listenerPath: String? = nil, listenerMetadata: String? = nil,
                syscalls: [SeccompSyscall] = []) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.flags = flags
        self.listenerPath = listenerPath
        self.listenerMetadata = listenerMetadata
        self.syscalls = syscalls
    }

    public init(from node: Node) throws {
        let r = try node.object()
        defaultAction = try r.required("defaultAction").oneOf(SeccompAction.self, what: "seccomp action")
        defaultErrnoRet = try r.int("defaultErrnoRet")
        if defaultErrnoRet != nil && !defaultAction.takesErrno {
            throw DecodeError(path: node.child("defaultErrnoRet"), "cannot be used with defaultAction \(defaultAction.rawValue)",
                              hint: "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno")
        }
        architectures = try r.optional("architectures")?.array().map { n in
            let s = try n.string()
            if !s.hasPrefix("SCMP_ARCH_") {
                throw n.fail("unknown seccomp architecture \(JSON.quoted(s))",
                             hint: "architecture names start with \"SCMP_ARCH_\", such as \"SCMP_ARCH_X86_64\"")
            }
            return s
        } ?? []
        flags = try r.enumStrings("flags", SeccompFlag.self, what: "seccomp flag")
        listenerPath = try r.string("listenerPath")
        listenerMetadata = try r.string("listenerMetadata")
        if listenerMetadata != nil && listenerPath == nil {
            throw DecodeError(path: node.child("listenerMetadata"), "is set but listenerPath is not",
                              hint: "the metadata is sent to the agent at listenerPath")
        }
        syscalls = try r.list("syscalls")
    }
}

public enum SeccompAction: String, CaseIterable, Sendable {
    case kill = "SCMP_ACT_KILL"
    case killProcess = "SCMP_ACT_KILL_PROCESS"
    case killThread = "SCMP_ACT_KILL_THREAD"
    case trap = "SCMP_ACT_TRAP"
    case errno = "SCMP_ACT_ERRNO"
    case trace = "SCMP_ACT_TRACE"
    case allow = "SCMP_ACT_ALLOW"
    case log = "SCMP_ACT_LOG"
    case notify = "SCMP_ACT_NOTIFY"

    /// Whether an errno return value (errnoRet, defaultErrnoRet) applies.
    public var takesErrno: Bool { self == .errno || self == .trace }
}

public enum SeccompOperator: String, CaseIterable, Sendable {
    case notEqual = "SCMP_CMP_NE"
    case lessThan = "SCMP_CMP_LT"
    case lessEqual = "SCMP_CMP_LE"
    case equalTo = "SCMP_CMP_EQ"
    case greaterEqual = "SCMP_CMP_GE"
    case greaterThan = "SCMP_CMP_GT"
    case maskedEqual = "SCMP_CMP_MASKED_EQ"
}

/// seccomp(2) filter flags with their SECCOMP_FILTER_FLAG_* values.
public enum SeccompFlag: String, CaseIterable, Sendable {
    case tsync = "SECCOMP_FILTER_FLAG_TSYNC"
    case log = "SECCOMP_FILTER_FLAG_LOG"
    case specAllow = "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
    case waitKillableRecv = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"

    public var value: UInt32 {
        switch self {
        case .tsync: return 1
        case .log: return 2
        case .specAllow: return 4
        case .waitKillableRecv: return 32
        }
    }
}

/// A rule: these syscalls (with these argument conditions) get this action.
public struct SeccompSyscall: JSONDecodable {
    /// At least one name.
    public var names: [String]
    public var action: SeccompAction
    /// Only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE; nil means EPERM.
    public var errnoRet: UInt32?
    public var args: [SeccompArg]

    public init(names: [String] = [], action: SeccompAction = .errno, errnoRet: UInt32? = nil, args: [SeccompArg] = []) {
        self.names = names
        self.action = action
        self.errnoRet = errnoRet
        self.args = args
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let namesNode = try r.required("names")
        names = try namesNode.strings()
        if names.isEmpty { throw namesNode.fail("must contain at least one syscall name") }
        action = try r.required("action").oneOf(SeccompAction.self, what: "seccomp action")
        errnoRet = try r.int("errnoRet")
        if errnoRet != nil && !action.takesErrno {
            throw DecodeError(path: node.child("errnoRet"), "cannot be used with action \(action.rawValue)",
                              hint: "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno")
        }
        args = try r.list("args")
    }
}

/// A condition on one syscall argument.
public struct SeccompArg: JSONDecodable {
    /// 0 to 5.
    public var index: UInt32
    public var value: UInt64
    /// The second operand of SCMP_CMP_MASKED_EQ (value is the mask).
    public var valueTwo: UInt64
    public var op: SeccompOperator

    public init(index: UInt32 = 0, value: UInt64 = 0, valueTwo: UInt64 = 0, op: SeccompOperator = .equalTo) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let indexNode = try r.required("index")
        index = try indexNode.int(UInt32.self)
        if index > 5 {
            throw indexNode.fail("\(index) is out of range (0 to 5)", hint: "a syscall has at most 6 arguments")
        }
        value = try r.requiredInt("value")
        valueTwo = try r.int("valueTwo") ?? 0
        op = try r.required("op").oneOf(SeccompOperator.self, what: "seccomp operator")
    }
}
