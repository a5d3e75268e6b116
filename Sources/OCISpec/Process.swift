// The container process (config.md, "Process", "POSIX process", "Linux Process", "User").
// Also decoded on its own for `exec --process process.json`.

/// The process to run: `process` in config.json, or the whole of an `exec --process` file.
public struct Process: JSONDecodable {
    public var terminal: Bool
    /// Ignored unless `terminal` is true.
    public var consoleSize: ConsoleSize?
    public var user: User
    /// At least one entry.
    public var args: [String]
    /// Windows only; decoded and ignored.
    public var commandLine: String?
    /// NAME=VALUE entries.
    public var env: [String]
    /// Absolute.
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit]
    public var noNewPrivileges: Bool
    public var apparmorProfile: String?
    public var oomScoreAdj: Int32?
    public var selinuxLabel: String?
    public var scheduler: Scheduler?
    public var ioPriority: IOPriority?
    public var execCPUAffinity: ExecCPUAffinity?

    public init(terminal: Bool = false, consoleSize: ConsoleSize? = nil, user: User = User(), args: [String] = [],
                commandLine: String? = nil, env: [String] = [], cwd: String = "/", capabilities: Capabilities? = nil,
                rlimits: [Rlimit] = [], noNewPrivileges: Bool = false, apparmorProfile: String? = nil,
                oomScoreAdj: Int32? = nil, selinuxLabel: String? = nil, scheduler: Scheduler? = nil,
                ioPriority: IOPriority? = nil, execCPUAffinity: ExecCPUAffinity? = nil) {
        self.terminal = terminal
        self.consoleSize = consoleSize
        self.user = user
        self.args = args
        self.commandLine = commandLine
        self.env = env
        self.cwd = cwd
        self.capabilities = capabilities
        self.rlimits = rlimits
        self.noNewPrivileges = noNewPrivileges
        self.apparmorProfile = apparmorProfile
        self.oomScoreAdj = oomScoreAdj
        self.selinuxLabel = selinuxLabel
        self.scheduler = scheduler
        self.ioPriority = ioPriority
        self.execCPUAffinity = execCPUAffinity
    }

    public init(from node: Node) throws {
        let r = try node.object()
        terminal = try r.flag("terminal")
        consoleSize = try r.decode("consoleSize")
        user = try User(from: r.required("user"))
        let argsNode = try r.required("args")
        args = try argsNode.strings()
        if args.isEmpty {
            throw argsNode.fail("must contain at least one entry", hint: "the first entry is the program to run")
        }
        commandLine = try r.string("commandLine")
        env = try r.stringList("env")
        if let envNodes = try r.optional("env")?.array() {
            for e in envNodes {
                let s = try e.string()
                guard let eq = s.firstIndex(of: "=") else {
                    throw e.fail("\(JSON.quoted(s)) has no \"=\"", hint: "environment entries have the form NAME=VALUE")
                }
                if eq == s.startIndex {
                    throw e.fail("\(JSON.quoted(s)) has an empty name", hint: "environment entries have the form NAME=VALUE")
                }
            }
        }
        cwd = try r.required("cwd").absolutePath("the working directory")
        capabilities = try r.decode("capabilities")
        rlimits = try r.list("rlimits")
        if let nodes = try r.optional("rlimits")?.array() {
            var seen: [String: String] = [:]
            for (i, limit) in rlimits.enumerated() {
                if let first = seen[limit.type] {
                    throw duplicateError(nodes[i].child("type"), "rlimit", limit.type, firstAt: first)
                }
                seen[limit.type] = nodes[i].path
            }
        }
        noNewPrivileges = try r.flag("noNewPrivileges")
        apparmorProfile = try r.string("apparmorProfile")
        if let n = r.optional("oomScoreAdj") {
            let v = try n.int(Int32.self)
            if v < -1000 || v > 1000 {
                throw n.fail("\(v) is out of range (-1000 to 1000)", hint: "see oom_score_adj in proc(5)")
            }
            oomScoreAdj = v
        } else {
            oomScoreAdj = nil
        }
        selinuxLabel = try r.string("selinuxLabel")
        scheduler = try r.decode("scheduler")
        ioPriority = try r.decode("ioPriority")
        execCPUAffinity = try r.decode("execCPUAffinity")
    }

    /// Decodes a process.json (`exec --process`); paths in errors start at the top ("cwd").
    public static func parse(_ text: String) throws -> Process {
        try decodeJSONDocument(text, as: Process.self)
    }
}

/// Terminal size in characters.
public struct ConsoleSize: JSONDecodable {
    public var height: UInt32
    public var width: UInt32

    public init(height: UInt32 = 0, width: UInt32 = 0) {
        self.height = height
        self.width = width
    }

    public init(from node: Node) throws {
        let r = try node.object()
        height = try r.requiredInt("height")
        width = try r.requiredInt("width")
    }
}

/// The user the process runs as, in the container's user namespace.
public struct User: JSONDecodable {
    public var uid: UInt32
    public var gid: UInt32
    /// nil: leave the umask alone.
    public var umask: UInt32?
    public var additionalGids: [UInt32]
    /// Windows only; decoded and ignored.
    public var username: String?

    public init(uid: UInt32 = 0, gid: UInt32 = 0, umask: UInt32? = nil, additionalGids: [UInt32] = [], username: String? = nil) {
        self.uid = uid
        self.gid = gid
        self.umask = umask
        self.additionalGids = additionalGids
        self.username = username
    }

    public init(from node: Node) throws {
        let r = try node.object()
        uid = try r.requiredInt("uid")
        gid = try r.requiredInt("gid")
        umask = try r.int("umask")
        additionalGids = try r.optional("additionalGids")?.array().map { try $0.int(UInt32.self) } ?? []
        username = try r.string("username")
    }
}

/// Capability sets. nil: the set is absent; []: present and empty. Names are not checked here
/// (the spec asks for a warning, not an error, for names the kernel does not know).
public struct Capabilities: JSONDecodable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?

    public init(bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
                permitted: [String]? = nil, ambient: [String]? = nil) {
        self.bounding = bounding
        self.effective = effective
        self.inheritable = inheritable
        self.permitted = permitted
        self.ambient = ambient
    }

    public init(from node: Node) throws {
        let r = try node.object()
        bounding = try r.strings("bounding")
        effective = try r.strings("effective")
        inheritable = try r.strings("inheritable")
        permitted = try r.strings("permitted")
        ambient = try r.strings("ambient")
    }
}

/// The Linux resource limits, with their RLIMIT_* numbers (asm-generic, as on x86 and arm).
public enum RlimitType: String, CaseIterable, Sendable {
    case cpu = "RLIMIT_CPU", fsize = "RLIMIT_FSIZE", data = "RLIMIT_DATA", stack = "RLIMIT_STACK"
    case core = "RLIMIT_CORE", rss = "RLIMIT_RSS", nproc = "RLIMIT_NPROC", nofile = "RLIMIT_NOFILE"
    case memlock = "RLIMIT_MEMLOCK", addressSpace = "RLIMIT_AS", locks = "RLIMIT_LOCKS"
    case sigpending = "RLIMIT_SIGPENDING", msgqueue = "RLIMIT_MSGQUEUE", nice = "RLIMIT_NICE"
    case rtprio = "RLIMIT_RTPRIO", rttime = "RLIMIT_RTTIME"

    /// The resource number for setrlimit(2)/prlimit(2).
    public var number: Int32 { Int32(RlimitType.allCases.firstIndex(of: self)!) }
}

/// One `process.rlimits` entry.
public struct Rlimit: JSONDecodable {
    /// "RLIMIT_NOFILE" etc.; checked against `RlimitType` when decoded.
    public var type: String
    public var hard: UInt64
    public var soft: UInt64

    /// The Linux RLIMIT_* number, or -1 for a name Linux does not have.
    public var resource: Int32 { RlimitType(rawValue: type)?.number ?? -1 }

    public init(type: String = RlimitType.nofile.rawValue, hard: UInt64 = 0, soft: UInt64 = 0) {
        self.type = type
        self.hard = hard
        self.soft = soft
    }

    public init(from node: Node) throws {
        let r = try node.object()
        type = try r.required("type").oneOf(RlimitType.self, what: "rlimit").rawValue
        hard = try r.requiredInt("hard")
        soft = try r.requiredInt("soft")
    }
}

/// Scheduling policies with their SCHED_* numbers.
public enum SchedulerPolicy: String, CaseIterable, Sendable {
    case other = "SCHED_OTHER", fifo = "SCHED_FIFO", rr = "SCHED_RR", batch = "SCHED_BATCH"
    case iso = "SCHED_ISO", idle = "SCHED_IDLE", deadline = "SCHED_DEADLINE"

    public var number: Int32 { Int32(SchedulerPolicy.allCases.firstIndex(of: self)!) }
}

/// sched_setattr(2) flags with their values.
public enum SchedulerFlag: String, CaseIterable, Sendable {
    case resetOnFork = "SCHED_FLAG_RESET_ON_FORK", reclaim = "SCHED_FLAG_RECLAIM"
    case dlOverrun = "SCHED_FLAG_DL_OVERRUN", keepPolicy = "SCHED_FLAG_KEEP_POLICY"
    case keepParams = "SCHED_FLAG_KEEP_PARAMS", utilClampMin = "SCHED_FLAG_UTIL_CLAMP_MIN"
    case utilClampMax = "SCHED_FLAG_UTIL_CLAMP_MAX"

    public var value: UInt64 { 1 << UInt64(SchedulerFlag.allCases.firstIndex(of: self)!) }
}

/// `process.scheduler`, for sched_setattr(2).
public struct Scheduler: JSONDecodable {
    /// A `SchedulerPolicy` raw value.
    public var policy: String
    public var nice: Int32?
    public var priority: Int32?
    /// `SchedulerFlag` raw values.
    public var flags: [String]
    public var runtime: UInt64?
    public var deadline: UInt64?
    public var period: UInt64?

    public init(policy: String = SchedulerPolicy.other.rawValue, nice: Int32? = nil, priority: Int32? = nil,
                flags: [String] = [], runtime: UInt64? = nil, deadline: UInt64? = nil, period: UInt64? = nil) {
        self.policy = policy
        self.nice = nice
        self.priority = priority
        self.flags = flags
        self.runtime = runtime
        self.deadline = deadline
        self.period = period
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let p = try r.required("policy").oneOf(SchedulerPolicy.self, what: "scheduler policy")
        policy = p.rawValue
        nice = try r.int("nice")
        if let n = nice, n < -20 || n > 19 {
            throw DecodeError(path: node.child("nice"), "\(n) is out of range (-20 to 19)")
        }
        priority = try r.int("priority")
        if let v = priority, v != 0, p != .fifo, p != .rr {
            throw DecodeError(path: node.child("priority"), "must be 0 for policy \(p.rawValue)",
                              hint: "a static priority applies to SCHED_FIFO and SCHED_RR only")
        }
        flags = try r.enumStrings("flags", SchedulerFlag.self, what: "scheduler flag")
        runtime = try r.int("runtime")
        deadline = try r.int("deadline")
        period = try r.int("period")
        if p != .deadline {
            for key in ["runtime", "deadline", "period"] {
                if let n = r.optional(key), try n.int(UInt64.self) != 0 {
                    throw n.fail("only applies to policy SCHED_DEADLINE, not \(p.rawValue)")
                }
            }
        }
    }
}

/// I/O scheduling classes with their IOPRIO_CLASS_* numbers.
public enum IOPriorityClass: String, CaseIterable, Sendable {
    case realtime = "IOPRIO_CLASS_RT", bestEffort = "IOPRIO_CLASS_BE", idle = "IOPRIO_CLASS_IDLE"

    public var number: Int32 { Int32(IOPriorityClass.allCases.firstIndex(of: self)! + 1) }
}

/// `process.ioPriority`, for ioprio_set(2).
public struct IOPriority: JSONDecodable {
    /// An `IOPriorityClass` raw value (JSON key "class").
    public var ioClass: String
    /// 0 (highest) to 7 (lowest).
    public var priority: Int32

    public init(ioClass: String = IOPriorityClass.bestEffort.rawValue, priority: Int32 = 0) {
        self.ioClass = ioClass
        self.priority = priority
    }

    public init(from node: Node) throws {
        let r = try node.object()
        ioClass = try r.required("class").oneOf(IOPriorityClass.self, what: "I/O priority class").rawValue
        if let n = r.optional("priority") {
            priority = try n.int(Int32.self)
            if priority < 0 || priority > 7 {
                throw n.fail("\(priority) is out of range (0 to 7)", hint: "0 is the highest priority, 7 the lowest")
            }
        } else {
            priority = 0
        }
    }
}

/// `process.execCPUAffinity` (exec only): CPU lists such as "0-3,7".
public struct ExecCPUAffinity: JSONDecodable {
    /// JSON key "initial": before joining the container's cgroup.
    public var initialCPUs: String?
    /// JSON key "final": after joining it.
    public var finalCPUs: String?

    public init(initialCPUs: String? = nil, finalCPUs: String? = nil) {
        self.initialCPUs = initialCPUs
        self.finalCPUs = finalCPUs
    }

    public init(from node: Node) throws {
        let r = try node.object()
        initialCPUs = try r.optional("initial")?.cpuList()
        finalCPUs = try r.optional("final")?.cpuList()
    }
}
