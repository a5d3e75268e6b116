// Cgroup resources (`linux.resources`, config-linux.md "Control groups"). Also decoded on its own
// for `update --resources FILE`.

/// Cgroup limits and the device allow-list.
public struct Resources: JSONDecodable {
    /// Applied in order.
    public var devices: [DeviceRule]
    public var memory: MemoryResources?
    public var cpu: CPUResources?
    public var pids: PidsResources?
    public var blockIO: BlockIO?
    public var hugepageLimits: [HugepageLimit]
    public var network: NetworkResources?
    /// Device name -> limits, in document order.
    public var rdma: [(String, RdmaLimit)]
    /// cgroup v2 file name -> content, in document order.
    public var unified: [(String, String)]

    public init(devices: [DeviceRule] = [], memory: MemoryResources? = nil, cpu: CPUResources? = nil,
                pids: PidsResources? = nil, blockIO: BlockIO? = nil, hugepageLimits: [HugepageLimit] = [],
                network: NetworkResources? = nil, rdma: [(String, RdmaLimit)] = [], unified: [(String, String)] = []) {
        self.devices = devices
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
        self.blockIO = blockIO
        self.hugepageLimits = hugepageLimits
        self.network = network
        self.rdma = rdma
        self.unified = unified
    }

    public init(from node: Node) throws {
        let r = try node.object()
        devices = try r.list("devices")
        memory = try r.decode("memory")
        cpu = try r.decode("cpu")
        pids = try r.decode("pids")
        blockIO = try r.decode("blockIO")
        hugepageLimits = try r.list("hugepageLimits")
        network = try r.decode("network")
        rdma = try r.optional("rdma")?.entries().map { ($0.0, try RdmaLimit(from: $0.1)) } ?? []
        unified = try r.stringMap("unified") ?? []
        if let u = r.optional("unified") {
            for (key, _) in unified {
                let dot = key.firstIndex(of: ".")
                if key.isEmpty || key.contains("/") || dot == nil || dot == key.startIndex {
                    throw DecodeError(path: u.child(key), "invalid cgroup file name \(JSON.quoted(key))",
                                      hint: "expected a file name of the form CONTROLLER.PARAMETER, such as \"memory.max\"")
                }
            }
        }
    }

    /// Decodes a resources file (`update --resources`); paths in errors start at the top ("memory.limit").
    public static func parse(_ text: String) throws -> Resources {
        try decodeJSONDocument(text, as: Resources.self)
    }
}

/// Device rule types for the device allow-list.
public enum DeviceRuleType: String, CaseIterable, Sendable {
    case all = "a", char = "c", block = "b"
}

/// One device cgroup rule.
public struct DeviceRule: JSONDecodable {
    public var allow: Bool
    /// A `DeviceRuleType` raw value; nil means all ("a").
    public var type: String?
    /// nil: any.
    public var major: Int64?
    public var minor: Int64?
    /// Letters from "rwm"; nil means all.
    public var access: String?

    public init(allow: Bool = false, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
        self.allow = allow
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access
    }

    public init(from node: Node) throws {
        let r = try node.object()
        allow = try r.required("allow").bool()
        type = try r.optional("type")?.oneOf(DeviceRuleType.self, what: "device rule type").rawValue
        major = try r.int("major")
        minor = try r.int("minor")
        if let n = r.optional("access") {
            let s = try n.string()
            if s.contains(where: { $0 != "r" && $0 != "w" && $0 != "m" }) {
                throw n.fail("invalid access \(JSON.quoted(s))",
                             hint: "expected a combination of \"r\", \"w\" and \"m\"")
            }
            access = s
        } else {
            access = nil
        }
    }
}

/// The memory controller. Limits in bytes; -1 is unlimited.
public struct MemoryResources: JSONDecodable {
    public var limit: Int64?
    public var reservation: Int64?
    /// Memory plus swap.
    public var swap: Int64?
    public var kernel: Int64?
    public var kernelTCP: Int64?
    public var swappiness: UInt64?
    public var disableOOMKiller: Bool?
    public var useHierarchy: Bool?
    public var checkBeforeUpdate: Bool?

    public init(limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil, kernel: Int64? = nil,
                kernelTCP: Int64? = nil, swappiness: UInt64? = nil, disableOOMKiller: Bool? = nil,
                useHierarchy: Bool? = nil, checkBeforeUpdate: Bool? = nil) {
        self.limit = limit
        self.reservation = reservation
        self.swap = swap
        self.kernel = kernel
        self.kernelTCP = kernelTCP
        self.swappiness = swappiness
        self.disableOOMKiller = disableOOMKiller
        self.useHierarchy = useHierarchy
        self.checkBeforeUpdate = checkBeforeUpdate
    }

    public init(from node: Node) throws {
        let r = try node.object()
        limit = try r.int("limit")
        reservation = try r.int("reservation")
        swap = try r.int("swap")
        kernel = try r.int("kernel")
        kernelTCP = try r.int("kernelTCP")
        swappiness = try r.int("swappiness")
        disableOOMKiller = try r.bool("disableOOMKiller")
        useHierarchy = try r.bool("useHierarchy")
        checkBeforeUpdate = try r.bool("checkBeforeUpdate")
    }
}

/// The cpu and cpuset controllers. Times in microseconds.
public struct CPUResources: JSONDecodable {
    public var shares: UInt64?
    public var quota: Int64?
    public var burst: UInt64?
    public var period: UInt64?
    public var realtimeRuntime: Int64?
    public var realtimePeriod: UInt64?
    /// CPU list such as "0-3,7".
    public var cpus: String?
    /// Memory node list such as "0-1".
    public var mems: String?
    public var idle: Int64?

    public init(shares: UInt64? = nil, quota: Int64? = nil, burst: UInt64? = nil, period: UInt64? = nil,
                realtimeRuntime: Int64? = nil, realtimePeriod: UInt64? = nil, cpus: String? = nil,
                mems: String? = nil, idle: Int64? = nil) {
        self.shares = shares
        self.quota = quota
        self.burst = burst
        self.period = period
        self.realtimeRuntime = realtimeRuntime
        self.realtimePeriod = realtimePeriod
        self.cpus = cpus
        self.mems = mems
        self.idle = idle
    }

    public init(from node: Node) throws {
        let r = try node.object()
        shares = try r.int("shares")
        quota = try r.int("quota")
        burst = try r.int("burst")
        period = try r.int("period")
        realtimeRuntime = try r.int("realtimeRuntime")
        realtimePeriod = try r.int("realtimePeriod")
        cpus = try r.string("cpus")
        mems = try r.string("mems")
        idle = try r.int("idle")
    }
}

/// The pids controller.
public struct PidsResources: JSONDecodable {
    /// -1 is "max"; 0 is a valid limit.
    public var limit: Int64?

    public init(limit: Int64? = nil) {
        self.limit = limit
    }

    public init(from node: Node) throws {
        let r = try node.object()
        limit = try r.int("limit")
    }
}

/// The blkio (v1) / io (v2) controller.
public struct BlockIO: JSONDecodable {
    public var weight: UInt16?
    public var leafWeight: UInt16?
    public var weightDevice: [WeightDevice]
    public var throttleReadBpsDevice: [ThrottleDevice]
    public var throttleWriteBpsDevice: [ThrottleDevice]
    public var throttleReadIOPSDevice: [ThrottleDevice]
    public var throttleWriteIOPSDevice: [ThrottleDevice]

    public init(weight: UInt16? = nil, leafWeight: UInt16? = nil, weightDevice: [WeightDevice] = [],
                throttleReadBpsDevice: [ThrottleDevice] = [], throttleWriteBpsDevice: [ThrottleDevice] = [],
                throttleReadIOPSDevice: [ThrottleDevice] = [], throttleWriteIOPSDevice: [ThrottleDevice] = []) {
        self.weight = weight
        self.leafWeight = leafWeight
        self.weightDevice = weightDevice
        self.throttleReadBpsDevice = throttleReadBpsDevice
        self.throttleWriteBpsDevice = throttleWriteBpsDevice
        self.throttleReadIOPSDevice = throttleReadIOPSDevice
        self.throttleWriteIOPSDevice = throttleWriteIOPSDevice
    }

    public init(from node: Node) throws {
        let r = try node.object()
        weight = try r.int("weight")
        leafWeight = try r.int("leafWeight")
        weightDevice = try r.list("weightDevice")
        throttleReadBpsDevice = try r.list("throttleReadBpsDevice")
        throttleWriteBpsDevice = try r.list("throttleWriteBpsDevice")
        throttleReadIOPSDevice = try r.list("throttleReadIOPSDevice")
        throttleWriteIOPSDevice = try r.list("throttleWriteIOPSDevice")
    }
}

/// A per-device weight; at least one of the two weights is set.
public struct WeightDevice: JSONDecodable {
    public var major: Int64
    public var minor: Int64
    public var weight: UInt16?
    public var leafWeight: UInt16?

    public init(major: Int64 = 0, minor: Int64 = 0, weight: UInt16? = nil, leafWeight: UInt16? = nil) {
        self.major = major
        self.minor = minor
        self.weight = weight
        self.leafWeight = leafWeight
    }

    public init(from node: Node) throws {
        let r = try node.object()
        major = try r.requiredInt("major")
        minor = try r.requiredInt("minor")
        weight = try r.int("weight")
        leafWeight = try r.int("leafWeight")
        if weight == nil && leafWeight == nil {
            throw node.fail("needs weight or leafWeight", hint: "a weightDevice entry without a weight does nothing")
        }
    }
}

/// A per-device rate limit (bytes or I/O operations per second).
public struct ThrottleDevice: JSONDecodable {
    public var major: Int64
    public var minor: Int64
    public var rate: UInt64

    public init(major: Int64 = 0, minor: Int64 = 0, rate: UInt64 = 0) {
        self.major = major
        self.minor = minor
        self.rate = rate
    }

    public init(from node: Node) throws {
        let r = try node.object()
        major = try r.requiredInt("major")
        minor = try r.requiredInt("minor")
        rate = try r.requiredInt("rate")
    }
}

/// A hugetlb limit for one page size.
public struct HugepageLimit: JSONDecodable {
    /// "<number>KB", "MB" or "GB", such as "2MB".
    public var pageSize: String
    /// Bytes.
    public var limit: UInt64

    public init(pageSize: String = "2MB", limit: UInt64 = 0) {
        self.pageSize = pageSize
        self.limit = limit
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let n = try r.required("pageSize")
        pageSize = try n.string()
        if !HugepageLimit.validPageSize(pageSize) {
            throw n.fail("invalid page size \(JSON.quoted(pageSize))",
                         hint: "expected a number followed by KB, MB or GB, such as \"2MB\"")
        }
        limit = try r.requiredInt("limit")
    }

    /// `^[1-9][0-9]*[KMG]B$`
    static func validPageSize(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 3, u.last == UInt8(ascii: "B"), [UInt8(ascii: "K"), UInt8(ascii: "M"), UInt8(ascii: "G")].contains(u[u.count - 2]),
              u[0] >= UInt8(ascii: "1"), u[0] <= UInt8(ascii: "9") else { return false }
        return u[1..<(u.count - 2)].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// The net_cls and net_prio controllers (cgroup v1).
public struct NetworkResources: JSONDecodable {
    public var classID: UInt32?
    public var priorities: [NetworkPriority]

    public init(classID: UInt32? = nil, priorities: [NetworkPriority] = []) {
        self.classID = classID
        self.priorities = priorities
    }

    public init(from node: Node) throws {
        let r = try node.object()
        classID = try r.int("classID")
        priorities = try r.list("priorities")
    }
}

/// The priority of traffic leaving through one interface.
public struct NetworkPriority: JSONDecodable {
    public var name: String
    public var priority: UInt32

    public init(name: String = "", priority: UInt32 = 0) {
        self.name = name
        self.priority = priority
    }

    public init(from node: Node) throws {
        let r = try node.object()
        name = try r.requiredString("name")
        priority = try r.requiredInt("priority")
    }
}

/// The rdma controller limits for one device; at least one is set.
public struct RdmaLimit: JSONDecodable {
    public var hcaHandles: UInt32?
    public var hcaObjects: UInt32?

    public init(hcaHandles: UInt32? = nil, hcaObjects: UInt32? = nil) {
        self.hcaHandles = hcaHandles
        self.hcaObjects = hcaObjects
    }

    public init(from node: Node) throws {
        let r = try node.object()
        hcaHandles = try r.int("hcaHandles")
        hcaObjects = try r.int("hcaObjects")
        if hcaHandles == nil && hcaObjects == nil {
            throw node.fail("needs hcaHandles or hcaObjects")
        }
    }
}
