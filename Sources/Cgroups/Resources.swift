import Glibc
import LinuxSys
import OCISpec

/// Applies `linux.resources` to a container's cgroup. For each controller the hierarchy that
/// carries it is used: v1 where the controller is bound to a v1 hierarchy, else v2.
/// What is not implemented yet is refused by `checkSupported` before anything is created.
public enum CgroupResources {
    /// Zero means "not set" for these values (docker and containerd send zeros for unset fields).
    static func set<T: BinaryInteger>(_ v: T?) -> T? { v.flatMap { $0 == 0 ? nil : $0 } }

    public static func checkSupported(_ r: Resources, path: String, layout: CgroupLayout) throws {
        if !r.devices.isEmpty && layout.v1MountPoint("devices") == nil {
            throw DecodeError.unsupported("\(path).devices", "the device allow-list on a cgroup v2 host (needs an eBPF program)")
        }
        if let m = r.memory {
            if m.swappiness != nil { throw DecodeError.unsupported("\(path).memory.swappiness") }
            if m.disableOOMKiller == true { throw DecodeError.unsupported("\(path).memory.disableOOMKiller") }
            if m.checkBeforeUpdate == true { throw DecodeError.unsupported("\(path).memory.checkBeforeUpdate") }
            if set(m.kernelTCP) != nil { throw DecodeError.unsupported("\(path).memory.kernelTCP") }
        }
        if let c = r.cpu {
            if set(c.realtimeRuntime) != nil || set(c.realtimePeriod) != nil {
                throw DecodeError.unsupported("\(path).cpu.\(set(c.realtimeRuntime) != nil ? "realtimeRuntime" : "realtimePeriod")")
            }
            if set(c.burst) != nil { throw DecodeError.unsupported("\(path).cpu.burst") }
            if c.idle != nil { throw DecodeError.unsupported("\(path).cpu.idle") }
        }
        if let b = r.blockIO {
            if set(b.weight) != nil || set(b.leafWeight) != nil || !b.weightDevice.isEmpty || !b.throttleReadBpsDevice.isEmpty
                || !b.throttleWriteBpsDevice.isEmpty || !b.throttleReadIOPSDevice.isEmpty || !b.throttleWriteIOPSDevice.isEmpty {
                throw DecodeError.unsupported("\(path).blockIO", "block I/O limits")
            }
        }
        if !r.hugepageLimits.isEmpty { throw DecodeError.unsupported("\(path).hugepageLimits") }
        if let n = r.network, set(n.classID) != nil || !n.priorities.isEmpty { throw DecodeError.unsupported("\(path).network") }
        if !r.rdma.isEmpty { throw DecodeError.unsupported("\(path).rdma") }
        if !r.unified.isEmpty { throw DecodeError.unsupported("\(path).unified") }
    }

    /// Writes one value; the error names the config field and the file.
    static func write(_ dir: String, _ file: String, _ value: String, field: String) throws {
        do { try Files.write(dir + "/" + file, value, flags: O_WRONLY) } catch let e as SysError {
            throw RuntimeErrorText("\(field): the kernel refused \(value) for \(q(dir + "/" + file)): \(SysError.text(e.errno))")
        }
    }

    public static func apply(_ r: Resources, to cg: Cgroup, path: String = "linux.resources") throws {
        let layout = cg.layout
        func v1(_ controller: String) -> String? { layout.v1MountPoint(controller).map { $0 + cg.path } }
        let v2 = layout.unified.map { $0 + cg.path }
        func v2Has(_ controller: String) -> Bool {
            guard let u = layout.unified else { return false }
            let parent = Files.dirname(u + cg.path)
            return (Files.readIfPresent(parent + "/cgroup.subtree_control") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).contains { $0 == controller }
        }

        if !r.devices.isEmpty, let dir = v1("devices") {
            try applyDevices(r.devices, dir: dir, path: path + ".devices")
        }
        if let m = r.memory {
            if let dir = v1("memory") {
                if let l = set(m.limit) { try write(dir, "memory.limit_in_bytes", String(l), field: "\(path).memory.limit") }
                if let l = set(m.reservation) { try write(dir, "memory.soft_limit_in_bytes", String(l), field: "\(path).memory.reservation") }
                if let s = set(m.swap) {
                    if Files.exists(dir + "/memory.memsw.limit_in_bytes") {
                        try write(dir, "memory.memsw.limit_in_bytes", String(s), field: "\(path).memory.swap")
                    } else if s != -1 && s != m.limit {
                        throw RuntimeErrorText("\(path).memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes is missing)")
                    }
                }
            } else if let dir = v2, v2Has("memory") {
                if let l = set(m.limit) { try write(dir, "memory.max", l == -1 ? "max" : String(l), field: "\(path).memory.limit") }
                if let l = set(m.reservation) { try write(dir, "memory.low", l == -1 ? "max" : String(l), field: "\(path).memory.reservation") }
                if let s = set(m.swap) {
                    // v1 semantics (memory+swap) turned into v2's swap-only value.
                    let swapOnly = s == -1 ? "max" : String(max(0, s - (m.limit ?? 0)))
                    try write(dir, "memory.swap.max", swapOnly, field: "\(path).memory.swap")
                }
            } else if set(m.limit) != nil || set(m.reservation) != nil || set(m.swap) != nil {
                throw RuntimeErrorText("\(path).memory: the memory controller is not available on this host")
            }
        }
        if let c = r.cpu {
            if let dir = v1("cpu") {
                if let s = set(c.shares) { try write(dir, "cpu.shares", String(s), field: "\(path).cpu.shares") }
                if let p = set(c.period) { try write(dir, "cpu.cfs_period_us", String(p), field: "\(path).cpu.period") }
                if let q = set(c.quota) { try write(dir, "cpu.cfs_quota_us", String(q), field: "\(path).cpu.quota") }
            } else if let dir = v2, v2Has("cpu") {
                if let s = set(c.shares) {
                    // The spec's conversion of shares (2..262144) to weight (1..10000).
                    let w = 1 + ((max(2, min(s, 262144)) - 2) * 9999) / 262142
                    try write(dir, "cpu.weight", String(w), field: "\(path).cpu.shares")
                }
                if set(c.quota) != nil || set(c.period) != nil {
                    let q = set(c.quota).map { $0 < 0 ? "max" : String($0) } ?? "max"
                    try write(dir, "cpu.max", "\(q) \(set(c.period) ?? 100000)", field: "\(path).cpu.quota")
                }
            } else if set(c.shares) != nil || set(c.quota) != nil || set(c.period) != nil {
                throw RuntimeErrorText("\(path).cpu: the cpu controller is not available on this host")
            }
            if c.cpus?.isEmpty == false || c.mems?.isEmpty == false {
                guard let dir = v1("cpuset") ?? (v2Has("cpuset") ? v2 : nil) else {
                    throw RuntimeErrorText("\(path).cpu: the cpuset controller is not available on this host")
                }
                let isV1 = v1("cpuset") != nil
                if let cpus = c.cpus, !cpus.isEmpty { try write(dir, isV1 ? "cpuset.cpus" : "cpuset.cpus", cpus, field: "\(path).cpu.cpus") }
                if let mems = c.mems, !mems.isEmpty { try write(dir, "cpuset.mems", mems, field: "\(path).cpu.mems") }
            }
        }
        if let p = r.pids, let limit = set(p.limit) {
            guard let dir = v1("pids") ?? (v2Has("pids") ? v2 : nil) else {
                throw RuntimeErrorText("\(path).pids: the pids controller is not available on this host")
            }
            try write(dir, "pids.max", limit < 0 ? "max" : String(limit), field: "\(path).pids.limit")
        }
    }

    /// A new cpuset cgroup (v1) starts with empty cpus and mems: copy the parent's, or no
    /// process can join it.
    public static func initCpuset(_ cg: Cgroup) {
        guard let mp = cg.layout.v1MountPoint("cpuset") else { return }
        var dirs: [String] = []
        var d = mp + cg.path
        while d != mp && d.count > mp.count { dirs.append(d); d = Files.dirname(d) }
        for dir in dirs.reversed() {
            let parent = Files.dirname(dir)
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let cur = (Files.readIfPresent(dir + "/" + f) ?? "").trimmingCharacters(in: " \n")
                if cur.isEmpty, let p = Files.readIfPresent(parent + "/" + f) {
                    try? Files.write(dir + "/" + f, p.trimmingCharacters(in: " \n"), flags: O_WRONLY)
                }
            }
        }
    }

    /// The v1 devices controller: the rules in order, then the default devices every
    /// container needs (null, zero, full, random, urandom, tty, ptmx, pts), as runc allows them.
    static func applyDevices(_ rules: [DeviceRule], dir: String, path: String) throws {
        for (i, rule) in rules.enumerated() {
            let type = rule.type ?? "a"
            let major = rule.major.map(String.init) ?? "*"
            let minor = rule.minor.map(String.init) ?? "*"
            let access = rule.access ?? "rwm"
            let line = type == "a" ? "a *:* \(access)" : "\(type) \(major):\(minor) \(access)"
            try write(dir, rule.allow ? "devices.allow" : "devices.deny", line, field: "\(path)[\(i)]")
        }
        for line in ["c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"] {
            try write(dir, "devices.allow", line, field: path)
        }
    }
}

/// A worded error from the cgroup code.
public struct RuntimeErrorText: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
