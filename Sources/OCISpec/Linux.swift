// The `linux` section of config.json (config-linux.md), apart from cgroup resources
// (Resources.swift) and seccomp (Seccomp.swift).

/// Linux-specific configuration.
public struct Linux: JSONDecodable {
    /// Each type at most once.
    public var namespaces: [Namespace]
    public var uidMappings: [IDMapping]
    public var gidMappings: [IDMapping]
    /// From the `timeOffsets` object, in document order.
    public var timeOffsets: [TimeOffset]
    public var devices: [Device]
    /// Host interface name -> settings, in document order.
    public var netDevices: [(String, NetDevice)]
    public var cgroupsPath: String?
    public var resources: Resources?
    /// A `MountPropagation` raw value.
    public var rootfsPropagation: String?
    public var seccomp: Seccomp?
    /// In document order.
    public var sysctl: [(String, String)]
    public var maskedPaths: [String]
    public var readonlyPaths: [String]
    public var mountLabel: String?
    public var intelRdt: IntelRdt?
    public var personality: Personality?
    public var memoryPolicy: MemoryPolicy?

    public init(namespaces: [Namespace] = [], uidMappings: [IDMapping] = [], gidMappings: [IDMapping] = [],
                timeOffsets: [TimeOffset] = [], devices: [Device] = [], netDevices: [(String, NetDevice)] = [],
                cgroupsPath: String? = nil, resources: Resources? = nil, rootfsPropagation: String? = nil,
                seccomp: Seccomp? = nil, sysctl: [(String, String)] = [], maskedPaths: [String] = [],
                readonlyPaths: [String] = [], mountLabel: String? = nil, intelRdt: IntelRdt? = nil,
                personality: Personality? = nil, memoryPolicy: MemoryPolicy? = nil) {
        self.namespaces = namespaces
        self.uidMappings = uidMappings
        self.gidMappings = gidMappings
        self.timeOffsets = timeOffsets
        self.devices = devices
        self.netDevices = netDevices
        self.cgroupsPath = cgroupsPath
        self.resources = resources
        self.rootfsPropagation = rootfsPropagation
        self.seccomp = seccomp
        self.sysctl = sysctl
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
        self.mountLabel = mountLabel
        self.intelRdt = intelRdt
        self.personality = personality
        self.memoryPolicy = memoryPolicy
    }

    public init(from node: Node) throws {
        let r = try node.object()
        namespaces = try r.list("namespaces")
        if let nodes = try r.optional("namespaces")?.array() {
            var seen: [NamespaceType: String] = [:]
            for (i, ns) in namespaces.enumerated() {
                if let first = seen[ns.type] {
                    throw duplicateError(nodes[i].child("type"), "namespace", ns.type.rawValue, firstAt: first)
                }
                seen[ns.type] = nodes[i].path
            }
        }
        uidMappings = try r.list("uidMappings")
        gidMappings = try r.list("gidMappings")
        timeOffsets = try r.optional("timeOffsets")?.entries().map { try TimeOffset(clock: $0.0, from: $0.1) } ?? []
        devices = try r.list("devices")
        netDevices = try r.optional("netDevices")?.entries().map { name, n in
            try checkInterfaceName(name, Node.key(name, path: n.path))
            return (name, try NetDevice(from: n))
        } ?? []
        cgroupsPath = try r.string("cgroupsPath")
        resources = try r.decode("resources")
        rootfsPropagation = try r.optional("rootfsPropagation")?.oneOf(MountPropagation.self, what: "rootfs propagation").rawValue
        seccomp = try r.decode("seccomp")
        sysctl = try r.stringMap("sysctl") ?? []
        maskedPaths = try r.optional("maskedPaths")?.array().map { try $0.absolutePath("a masked path") } ?? []
        readonlyPaths = try r.optional("readonlyPaths")?.array().map { try $0.absolutePath("a readonly path") } ?? []
        mountLabel = try r.string("mountLabel")
        intelRdt = try r.decode("intelRdt")
        personality = try r.decode("personality")
        memoryPolicy = try r.decode("memoryPolicy")
    }

    /// The entry for a namespace type, if listed.
    public func namespace(_ type: NamespaceType) -> Namespace? {
        namespaces.first { $0.type == type }
    }
}

public enum NamespaceType: String, CaseIterable, Sendable {
    case pid, network, mount, ipc, uts, user, cgroup, time
}

/// One `linux.namespaces` entry: create a new namespace, or join the one at `path`.
public struct Namespace: JSONDecodable {
    public var type: NamespaceType
    /// Absolute; nil: create a new namespace.
    public var path: String?

    public init(type: NamespaceType = .mount, path: String? = nil) {
        self.type = type
        self.path = path
    }

    public init(from node: Node) throws {
        let r = try node.object()
        type = try r.required("type").oneOf(NamespaceType.self, what: "namespace")
        path = try r.optional("path")?.absolutePath("a namespace path")
    }
}

/// A user namespace (or idmapped mount) id range.
public struct IDMapping: JSONDecodable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32

    public init(containerID: UInt32 = 0, hostID: UInt32 = 0, size: UInt32 = 0) {
        self.containerID = containerID
        self.hostID = hostID
        self.size = size
    }

    public init(from node: Node) throws {
        let r = try node.object()
        containerID = try r.requiredInt("containerID")
        hostID = try r.requiredInt("hostID")
        size = try r.requiredInt("size")
    }
}

/// The clocks a time namespace can offset.
public enum TimeNamespaceClock: String, CaseIterable, Sendable {
    case monotonic, boottime
}

/// One `linux.timeOffsets` entry.
public struct TimeOffset: JSONDecodable {
    /// The JSON object key: a `TimeNamespaceClock` raw value.
    public var clock: String
    public var secs: Int64
    /// Below 1_000_000_000.
    public var nanosecs: UInt32

    public init(clock: String = TimeNamespaceClock.monotonic.rawValue, secs: Int64 = 0, nanosecs: UInt32 = 0) {
        self.clock = clock
        self.secs = secs
        self.nanosecs = nanosecs
    }

    /// Decodes the value of a `timeOffsets` member; the clock is the member's key.
    public init(clock: String, from node: Node) throws {
        self.clock = try Node.key(clock, path: node.path).oneOf(TimeNamespaceClock.self, what: "clock").rawValue
        let r = try node.object()
        secs = try r.int("secs") ?? 0
        nanosecs = try r.int("nanosecs") ?? 0
        if nanosecs >= 1_000_000_000 {
            throw DecodeError(path: node.child("nanosecs"), "\(nanosecs) is out of range (0 to 999999999)",
                              hint: "put whole seconds in secs")
        }
    }

    /// Decodes the value alone; the clock is taken from the last component of the node's path.
    public init(from node: Node) throws {
        let key = node.path.split(separator: ".").last.map(String.init) ?? ""
        try self.init(clock: key, from: node)
    }
}

/// Device node types for `linux.devices`.
public enum DeviceType: String, CaseIterable, Sendable {
    case char = "c", block = "b", unbufferedChar = "u", fifo = "p"
}

/// A device node to create in the container.
public struct Device: JSONDecodable {
    /// A `DeviceType` raw value: c, b, u or p.
    public var type: String
    /// Absolute, inside the container.
    public var path: String
    /// Required unless type is "p".
    public var major: Int64?
    public var minor: Int64?
    /// Permission bits, decimal in JSON (438 = 0o666).
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?

    public init(type: String = DeviceType.char.rawValue, path: String = "/dev/null", major: Int64? = nil,
                minor: Int64? = nil, fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
        self.type = type
        self.path = path
        self.major = major
        self.minor = minor
        self.fileMode = fileMode
        self.uid = uid
        self.gid = gid
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let t = try r.required("type").oneOf(DeviceType.self, what: "device type")
        type = t.rawValue
        path = try r.required("path").absolutePath("a device path")
        major = try r.int("major")
        minor = try r.int("minor")
        if t != .fifo {
            for key in ["major", "minor"] where !r.has(key) {
                throw DecodeError(path: node.child(key), "is required but missing",
                                  hint: "major and minor are required for device type \"\(t.rawValue)\"")
            }
        }
        fileMode = try r.int("fileMode")
        uid = try r.int("uid")
        gid = try r.int("gid")
    }
}

/// A host network interface to move into the container (`linux.netDevices` value).
public struct NetDevice: JSONDecodable {
    /// The name inside the container; nil: keep the host name. May end in "%d".
    public var name: String?

    public init(name: String? = nil) {
        self.name = name
    }

    public init(from node: Node) throws {
        let r = try node.object()
        if let n = r.optional("name") {
            let s = try n.string()
            try checkInterfaceName(s, n)
            name = s
        } else {
            name = nil
        }
    }
}

/// The kernel's rules for interface names (dev_valid_name).
func checkInterfaceName(_ s: String, _ node: Node) throws {
    let hint = "interface names have 1 to 15 bytes, are not \".\" or \"..\", and contain no \"/\", \":\" or white space"
    if s.isEmpty || s.utf8.count > 15 || s == "." || s == ".."
        || s.unicodeScalars.contains(where: { $0 == "/" || $0 == ":" || $0.properties.isWhitespace }) {
        throw node.fail("invalid network interface name \(JSON.quoted(s))", hint: hint)
    }
}

/// Mount propagation modes for `linux.rootfsPropagation`.
public enum MountPropagation: String, CaseIterable, Sendable {
    case `private`, rprivate, slave, rslave, shared, rshared, unbindable, runbindable
}

/// `linux.intelRdt`: resctrl class of service and monitoring.
public struct IntelRdt: JSONDecodable {
    /// nil: use the container ID; "/" is the default class.
    public var closID: String?
    public var l3CacheSchema: String?
    /// Starts with "MB:".
    public var memBwSchema: String?
    /// Lines for the schemata file, written after the two above.
    public var schemata: [String]
    public var enableMonitoring: Bool

    public init(closID: String? = nil, l3CacheSchema: String? = nil, memBwSchema: String? = nil,
                schemata: [String] = [], enableMonitoring: Bool = false) {
        self.closID = closID
        self.l3CacheSchema = l3CacheSchema
        self.memBwSchema = memBwSchema
        self.schemata = schemata
        self.enableMonitoring = enableMonitoring
    }

    public init(from node: Node) throws {
        let r = try node.object()
        closID = try r.string("closID")
        l3CacheSchema = try r.optional("l3CacheSchema")?.singleLine()
        if let n = r.optional("memBwSchema") {
            let s = try n.singleLine()
            if !s.hasPrefix("MB:") {
                throw n.fail("\(JSON.quoted(s)) does not start with \"MB:\"")
            }
            memBwSchema = s
        } else {
            memBwSchema = nil
        }
        schemata = try r.optional("schemata")?.array().map { try $0.singleLine() } ?? []
        enableMonitoring = try r.flag("enableMonitoring")
    }
}

extension Node {
    fileprivate func singleLine() throws -> String {
        let s = try string()
        if s.contains("\n") { throw fail("must not contain a newline") }
        return s
    }
}

/// Execution domains for `linux.personality`.
public enum PersonalityDomain: String, CaseIterable, Sendable {
    case linux = "LINUX", linux32 = "LINUX32"

    /// The personality(2) value (PER_LINUX, PER_LINUX32).
    public var number: UInt32 { self == .linux ? 0 : 0x0008 }
}

/// `linux.personality`.
public struct Personality: JSONDecodable {
    /// A `PersonalityDomain` raw value.
    public var domain: String
    /// runtime-spec 1.3 defines none, so any entry is refused.
    public var flags: [String]

    public init(domain: String = PersonalityDomain.linux.rawValue, flags: [String] = []) {
        self.domain = domain
        self.flags = flags
    }

    public init(from node: Node) throws {
        let r = try node.object()
        domain = try r.required("domain").oneOf(PersonalityDomain.self, what: "personality domain").rawValue
        flags = try r.stringList("flags")
        if let first = try r.optional("flags")?.array().first {
            throw first.fail("unknown personality flag \(JSON.quoted(try first.string()))",
                             hint: "runtime-spec 1.3 defines no personality flags")
        }
    }
}

/// set_mempolicy(2) modes with their MPOL_* numbers.
public enum MemoryPolicyMode: String, CaseIterable, Sendable {
    case defaultMode = "MPOL_DEFAULT", preferred = "MPOL_PREFERRED", bind = "MPOL_BIND"
    case interleave = "MPOL_INTERLEAVE", local = "MPOL_LOCAL", preferredMany = "MPOL_PREFERRED_MANY"
    case weightedInterleave = "MPOL_WEIGHTED_INTERLEAVE"

    public var number: Int32 { Int32(MemoryPolicyMode.allCases.firstIndex(of: self)!) }
}

/// set_mempolicy(2) mode flags with their values.
public enum MemoryPolicyFlag: String, CaseIterable, Sendable {
    case numaBalancing = "MPOL_F_NUMA_BALANCING", relativeNodes = "MPOL_F_RELATIVE_NODES"
    case staticNodes = "MPOL_F_STATIC_NODES"

    public var value: Int32 {
        switch self {
        case .numaBalancing: return 1 << 13
        case .relativeNodes: return 1 << 14
        case .staticNodes: return 1 << 15
        }
    }
}

/// `linux.memoryPolicy`: the NUMA policy for the container process.
public struct MemoryPolicy: JSONDecodable {
    /// A `MemoryPolicyMode` raw value.
    public var mode: String
    /// Node list such as "0-3,7".
    public var nodes: String?
    /// `MemoryPolicyFlag` raw values.
    public var flags: [String]

    public init(mode: String = MemoryPolicyMode.defaultMode.rawValue, nodes: String? = nil, flags: [String] = []) {
        self.mode = mode
        self.nodes = nodes
        self.flags = flags
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let m = try r.required("mode").oneOf(MemoryPolicyMode.self, what: "memory policy mode")
        mode = m.rawValue
        nodes = try r.optional("nodes")?.cpuList()
        let hasNodes = !(nodes ?? "").isEmpty
        if hasNodes && (m == .defaultMode || m == .local) {
            throw DecodeError(path: node.child("nodes"), "must be empty for mode \(m.rawValue)")
        }
        if !hasNodes && [.bind, .interleave, .weightedInterleave, .preferredMany].contains(m) {
            throw DecodeError(path: node.child("nodes"), "must list at least one node for mode \(m.rawValue)",
                              hint: "for example \"0-1\"")
        }
        flags = try r.enumStrings("flags", MemoryPolicyFlag.self, what: "memory policy flag")
    }
}
