import Glibc
import LinuxSys
import OCISpec

/// One write to a cgroup file, with the config field it comes from (for the error).
public struct CgroupWrite: Equatable, CustomStringConvertible {
    public let file: String
    public let value: String
    public let field: String

    public var description: String { "\(file) <- \(value)" }
}

/// Applies `linux.resources` (create) or an `update` to a container's cgroup. `plan` turns the
/// resources into file writes (pure: unit tests check it without a kernel); `apply` performs
/// them. For each controller the hierarchy that carries it is used: v1 where the controller is
/// bound to a v1 hierarchy (as on hybrid hosts), else v2.
public enum CgroupResources {
    /// Zero means "not set" for these values (docker and containerd send zeros for unset fields).
    static func set<T: BinaryInteger>(_ v: T?) -> T? { v.flatMap { $0 == 0 ? nil : $0 } }

    /// What cannot work on this host at all, checked before anything is created.
    public static func checkSupported(_ r: Resources, path: String, layout: CgroupLayout) throws {
        if !r.unified.isEmpty && layout.unified == nil {
            throw DecodeError(path: path.isEmpty ? "unified" : path + ".unified", "this host has no cgroup v2 hierarchy mounted",
                              hint: "unified holds cgroup v2 files; use the v1 fields instead")
        }
    }

    /// The spec's conversion of cpu shares (2..262144) to cgroup v2 cpu.weight (1..10000).
    public static func weight(shares: UInt64) -> UInt64 {
        1 + ((max(2, min(shares, 262144)) - 2) * 9999) / 262142
    }

    /// blkio weight (10..1000) to io.weight (1..10000), as runc converts it.
    public static func ioWeight(blkio w: UInt16) -> UInt64 {
        1 + (UInt64(max(10, min(w, 1000))) - 10) * 9999 / 990
    }

    /// The writes `r` asks for, in a working order. `exists` tells whether a cgroup file exists
    /// (some knobs depend on kernel options: swap accounting, BFQ), `read` gives a current
    /// value (the order of memory and memory+swap depends on it). Throws for a setting that has
    /// no file here.
    public static func plan(_ r: Resources, dirs: ControllerDirs, path: String,
                            exists: (String) -> Bool = Files.exists,
                            read: (String) -> String? = Files.readIfPresent) throws -> [CgroupWrite] {
        let pre = path.isEmpty ? "" : path + "."
        var out: [CgroupWrite] = []
        func add(_ dir: String, _ file: String, _ value: String, _ field: String) {
            out.append(CgroupWrite(file: dir + "/" + file, value: value, field: field))
        }
        func need(_ controller: String, _ field: String) throws -> (path: String, v1: Bool) {
            guard let d = dirs.dir(controller) else {
                throw RuntimeErrorText("\(field): the \(controller) controller is not available on this host (neither a mounted v1 hierarchy nor enabled in cgroup v2)")
            }
            return d
        }
        func unsupported(_ field: String, _ why: String) -> RuntimeErrorText {
            RuntimeErrorText("\(field): \(why)")
        }
        func limit(_ v: Int64, v2: Bool) -> String { v == -1 && v2 ? "max" : String(v) }

        if let m = r.memory {
            let f = "\(pre)memory"
            let anySet = set(m.limit) != nil || set(m.reservation) != nil || set(m.swap) != nil || set(m.kernelTCP) != nil
                || m.swappiness != nil || m.disableOOMKiller == true || m.useHierarchy != nil
            if anySet {
                let (dir, isV1) = try need("memory", f)
                if isV1 {
                    // memory+swap must stay >= memory: when the limit grows, raise memsw first.
                    var writes: [(String, String, String)] = []
                    if let l = set(m.limit) { writes.append(("memory.limit_in_bytes", String(l), "\(f).limit")) }
                    if let s = set(m.swap) {
                        if exists(dir + "/memory.memsw.limit_in_bytes") {
                            let w = ("memory.memsw.limit_in_bytes", String(s), "\(f).swap")
                            // memory+swap must stay >= memory at every step: raise memsw first
                            // when it ends above the current memory limit, else lower memory first.
                            let current = read(dir + "/memory.limit_in_bytes").flatMap { Int64($0.trimmingCharacters(in: " \n")) } ?? 0
                            if s == -1 || s > current { writes.insert(w, at: 0) } else { writes.append(w) }
                        } else if s != -1 && s != m.limit {
                            throw unsupported("\(f).swap", "this kernel has no swap accounting (memory.memsw.limit_in_bytes is missing); boot with swapaccount=1 or leave swap unset")
                        }
                    }
                    for (file, value, field) in writes { add(dir, file, value, field) }
                    if let l = set(m.reservation) { add(dir, "memory.soft_limit_in_bytes", String(l), "\(f).reservation") }
                    if let t = set(m.kernelTCP) {
                        guard exists(dir + "/memory.kmem.tcp.limit_in_bytes") else {
                            throw unsupported("\(f).kernelTCP", "this kernel has no memory.kmem.tcp.limit_in_bytes")
                        }
                        add(dir, "memory.kmem.tcp.limit_in_bytes", String(t), "\(f).kernelTCP")
                    }
                    if let s = m.swappiness {
                        guard s <= 100 else { throw unsupported("\(f).swappiness", "\(s) is out of range (0 to 100)") }
                        add(dir, "memory.swappiness", String(s), "\(f).swappiness")
                    }
                    if m.disableOOMKiller == true { add(dir, "memory.oom_control", "1", "\(f).disableOOMKiller") }
                    if let h = m.useHierarchy { add(dir, "memory.use_hierarchy", h ? "1" : "0", "\(f).useHierarchy") }
                } else {
                    if let l = set(m.limit) { add(dir, "memory.max", limit(l, v2: true), "\(f).limit") }
                    if let l = set(m.reservation) { add(dir, "memory.low", limit(l, v2: true), "\(f).reservation") }
                    if let s = set(m.swap) {
                        // The spec's swap is memory+swap (v1); v2's memory.swap.max is swap alone.
                        let swapOnly: String
                        if s == -1 { swapOnly = "max" } else if let l = set(m.limit), l > 0 {
                            guard s >= l else { throw unsupported("\(f).swap", "memory+swap (\(s)) is below memory.limit (\(l))") }
                            swapOnly = String(s - l)
                        } else {
                            throw unsupported("\(f).swap", "on cgroup v2 a swap limit needs memory.limit too (swap here is memory+swap)")
                        }
                        add(dir, "memory.swap.max", swapOnly, "\(f).swap")
                    }
                    if set(m.kernelTCP) != nil { throw unsupported("\(f).kernelTCP", "cgroup v2 has no TCP memory limit") }
                    if m.swappiness != nil { throw unsupported("\(f).swappiness", "cgroup v2 has no per-cgroup swappiness") }
                    if m.disableOOMKiller == true { throw unsupported("\(f).disableOOMKiller", "cgroup v2 cannot disable the OOM killer") }
                }
            }
        }

        if let c = r.cpu {
            let f = "\(pre)cpu"
            let cfs = set(c.shares) != nil || set(c.quota) != nil || set(c.period) != nil || set(c.burst) != nil
                || set(c.realtimeRuntime) != nil || set(c.realtimePeriod) != nil || c.idle != nil
            if cfs {
                let (dir, isV1) = try need("cpu", f)
                if isV1 {
                    if let s = set(c.shares) { add(dir, "cpu.shares", String(s), "\(f).shares") }
                    if let p = set(c.period) { add(dir, "cpu.cfs_period_us", String(p), "\(f).period") }
                    if let q = set(c.quota) { add(dir, "cpu.cfs_quota_us", String(q), "\(f).quota") }
                    if let b = c.burst.flatMap({ $0 == 0 && set(c.quota) == nil ? nil : $0 }) { add(dir, "cpu.cfs_burst_us", String(b), "\(f).burst") }
                    // The parent's rt budget must allow the child's: period before runtime.
                    if let p = set(c.realtimePeriod) { add(dir, "cpu.rt_period_us", String(p), "\(f).realtimePeriod") }
                    if let rt = set(c.realtimeRuntime) { add(dir, "cpu.rt_runtime_us", String(rt), "\(f).realtimeRuntime") }
                    if let i = c.idle { add(dir, "cpu.idle", String(i), "\(f).idle") }
                } else {
                    if let s = set(c.shares) { add(dir, "cpu.weight", String(weight(shares: s)), "\(f).shares") }
                    if set(c.quota) != nil || set(c.period) != nil {
                        let q = set(c.quota).map { $0 < 0 ? "max" : String($0) } ?? "max"
                        add(dir, "cpu.max", "\(q) \(set(c.period) ?? 100000)", "\(f).\(set(c.quota) != nil ? "quota" : "period")")
                    }
                    if let b = c.burst.flatMap({ $0 == 0 && set(c.quota) == nil ? nil : $0 }) { add(dir, "cpu.max.burst", String(b), "\(f).burst") }
                    if set(c.realtimeRuntime) != nil || set(c.realtimePeriod) != nil {
                        throw unsupported("\(f).\(set(c.realtimeRuntime) != nil ? "realtimeRuntime" : "realtimePeriod")", "cgroup v2 has no real-time CPU budget")
                    }
                    if let i = c.idle { add(dir, "cpu.idle", String(i), "\(f).idle") }
                }
            }
            if c.cpus?.isEmpty == false || c.mems?.isEmpty == false {
                let (dir, _) = try need("cpuset", f)
                if let cpus = c.cpus, !cpus.isEmpty { add(dir, "cpuset.cpus", cpus, "\(f).cpus") }
                if let mems = c.mems, !mems.isEmpty { add(dir, "cpuset.mems", mems, "\(f).mems") }
            }
        }

        if let p = r.pids, let l = set(p.limit) {
            let (dir, _) = try need("pids", "\(pre)pids")
            add(dir, "pids.max", l < 0 ? "max" : String(l), "\(pre)pids.limit")
        }

        if let b = r.blockIO {
            let f = "\(pre)blockIO"
            let throttles: [(String, [ThrottleDevice], String, String)] = [
                ("throttleReadBpsDevice", b.throttleReadBpsDevice, "blkio.throttle.read_bps_device", "rbps"),
                ("throttleWriteBpsDevice", b.throttleWriteBpsDevice, "blkio.throttle.write_bps_device", "wbps"),
                ("throttleReadIOPSDevice", b.throttleReadIOPSDevice, "blkio.throttle.read_iops_device", "riops"),
                ("throttleWriteIOPSDevice", b.throttleWriteIOPSDevice, "blkio.throttle.write_iops_device", "wiops"),
            ]
            let anySet = set(b.weight) != nil || set(b.leafWeight) != nil || !b.weightDevice.isEmpty || throttles.contains { !$0.1.isEmpty }
            if anySet {
                let (dir, isV1) = try need(dirs.v1["blkio"] != nil ? "blkio" : "io", f)
                // A weight needs a proportional-weight scheduler: CFQ (blkio.weight, old kernels)
                // or BFQ (blkio.bfq.weight / io.bfq.weight); v2 also has io.weight (iocost).
                let weightFile: String? = isV1
                    ? ["blkio.weight", "blkio.bfq.weight"].first { exists(dir + "/" + $0) }
                    : ["io.bfq.weight", "io.weight"].first { exists(dir + "/" + $0) }
                func weightValue(_ w: UInt16, file: String) -> String {
                    file == "io.weight" ? String(ioWeight(blkio: w)) : String(w)
                }
                if let w = set(b.weight) {
                    guard let file = weightFile else {
                        throw unsupported("\(f).weight", "no I/O scheduler with weights on this host (needs BFQ: no \(isV1 ? "blkio.bfq.weight" : "io.bfq.weight") file)")
                    }
                    add(dir, file, weightValue(w, file: file), "\(f).weight")
                }
                if set(b.leafWeight) != nil {
                    guard isV1, exists(dir + "/blkio.leaf_weight") else {
                        throw unsupported("\(f).leafWeight", "this kernel has no blkio.leaf_weight (removed with CFQ)")
                    }
                    add(dir, "blkio.leaf_weight", String(b.leafWeight!), "\(f).leafWeight")
                }
                for (i, d) in b.weightDevice.enumerated() {
                    guard let w = d.weight else {
                        throw unsupported("\(f).weightDevice[\(i)].leafWeight", "per-device leaf weights were removed with CFQ")
                    }
                    guard let file = weightFile else {
                        throw unsupported("\(f).weightDevice[\(i)]", "no I/O scheduler with weights on this host (needs BFQ)")
                    }
                    add(dir, isV1 ? file + "_device" : file, "\(d.major):\(d.minor) \(weightValue(w, file: file))", "\(f).weightDevice[\(i)]")
                }
                for (name, list, v1File, v2Key) in throttles {
                    for (i, d) in list.enumerated() {
                        if isV1 {
                            add(dir, v1File, "\(d.major):\(d.minor) \(d.rate)", "\(f).\(name)[\(i)]")
                        } else {
                            add(dir, "io.max", "\(d.major):\(d.minor) \(v2Key)=\(d.rate == 0 ? "max" : String(d.rate))", "\(f).\(name)[\(i)]")
                        }
                    }
                }
            }
        }

        for (i, h) in r.hugepageLimits.enumerated() {
            let field = "\(pre)hugepageLimits[\(i)]"
            let (dir, isV1) = try need("hugetlb", field)
            let file = "hugetlb.\(h.pageSize)." + (isV1 ? "limit_in_bytes" : "max")
            guard exists(dir + "/" + file) else {
                let sizes = Files.list(dir).filter { $0.hasPrefix("hugetlb.") && $0.hasSuffix(isV1 ? ".limit_in_bytes" : ".max") }
                    .map { String($0.dropFirst(8).prefix { $0 != "." }) }
                throw unsupported("\(field).pageSize", "\(JSON.quoted(h.pageSize)) is not a huge page size of this host (it has: \(sizes.isEmpty ? "none" : sizes.joined(separator: ", ")))")
            }
            add(dir, file, String(h.limit), field)
        }

        if let n = r.network, set(n.classID) != nil || !n.priorities.isEmpty {
            let f = "\(pre)network"
            if let id = set(n.classID) {
                guard let dir = dirs.v1["net_cls"] else {
                    throw unsupported("\(f).classID", "the net_cls controller is not mounted on this host (cgroup v2 has none; use an eBPF or nftables classifier)")
                }
                add(dir, "net_cls.classid", String(id), "\(f).classID")
            }
            for (i, p) in n.priorities.enumerated() {
                guard let dir = dirs.v1["net_prio"] else {
                    throw unsupported("\(f).priorities[\(i)]", "the net_prio controller is not mounted on this host (cgroup v2 has none)")
                }
                add(dir, "net_prio.ifpriomap", "\(p.name) \(p.priority)", "\(f).priorities[\(i)]")
            }
        }

        for (device, l) in r.rdma {
            let field = "\(pre)rdma.\(device)"
            let (dir, _) = try need("rdma", field)
            var parts = [device]
            if let h = l.hcaHandles { parts.append("hca_handle=\(h)") }
            if let o = l.hcaObjects { parts.append("hca_object=\(o)") }
            guard parts.count > 1 else { continue }
            add(dir, "rdma.max", parts.joined(separator: " "), field)
        }

        for (key, value) in r.unified {
            let field = "\(pre)unified.\(JSON.quoted(key))"
            guard let u = dirs.unified else {
                throw unsupported(field, "this host has no cgroup v2 hierarchy mounted")
            }
            let controller = String(key.prefix { $0 != "." })
            if controller != "cgroup" && !dirs.v2Controllers.contains(controller) {
                let where_ = dirs.v1[controller] != nil ? "it is bound to a cgroup v1 hierarchy on this host" : "it is not enabled for this cgroup"
                throw unsupported(field, "the \(controller) controller is not available in cgroup v2: \(where_)")
            }
            guard exists(u + "/" + key) else {
                throw unsupported(field, "\(q(u + "/" + key)) does not exist")
            }
            add(u, key, value, field)
        }
        return out
    }

    /// Writes one value; the error names the config field and the file.
    static func write(_ w: CgroupWrite) throws {
        do { try Files.write(w.file, w.value, flags: O_WRONLY) } catch let e as SysError {
            throw RuntimeErrorText("\(w.field): the kernel refused \(JSON.quoted(w.value)) for \(q(w.file)): \(SysError.text(e.errno))")
        }
    }

    /// Applies `r` to the cgroup: the devices rules, then every write of `plan`.
    /// `update` passes `update: true`: checkBeforeUpdate is honoured, and the devices rules
    /// replace the old ones.
    /// `containerDevices` are the config's linux.devices: the spec says they must be usable in
    /// the container, so they are allowed after the rules (as runc does).
    public static func apply(_ r: Resources, to cg: Cgroup, path: String = "linux.resources", update: Bool = false,
                             containerDevices: [DeviceRule] = []) throws {
        let pre = path.isEmpty ? "" : path + "."
        let dirs = ControllerDirs(cg)
        if set(r.memory?.kernel) != nil {
            Log.warn("\(pre)memory.kernel: kernel memory limits are obsolete (Linux 5.16 and later ignore them); not applied, as runc does")
        }
        if !r.devices.isEmpty {
            if let dir = dirs.v1["devices"] {
                try applyDevicesV1(r.devices, extra: containerDevices, dir: dir, path: pre + "devices", replace: update)
            } else if let u = dirs.unified {
                try DeviceFilter.apply(r.devices + containerDevices, cgroupDir: u, field: pre + "devices")
            } else {
                throw RuntimeErrorText("\(pre)devices: no devices controller and no cgroup v2 hierarchy on this host")
            }
        }
        if update, let m = r.memory, m.checkBeforeUpdate == true, let l = set(m.limit), l > 0, let (dir, isV1) = dirs.dir("memory") {
            let usage = Int64((Files.readIfPresent(dir + (isV1 ? "/memory.usage_in_bytes" : "/memory.current")) ?? "").trimmingCharacters(in: " \n")) ?? 0
            if usage > l {
                throw RuntimeErrorText("\(pre)memory.limit: \(l) is below the container's current memory usage (\(usage) bytes) and checkBeforeUpdate is set")
            }
        }
        for w in try plan(r, dirs: dirs, path: path) { try write(w) }
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

    /// The device nodes every container gets (null, zero, full, random, urandom, tty, ptmx,
    /// pts), allowed after the config's rules as runc does.
    static let defaultAllowed: [DeviceRule] = [
        DeviceRule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 5, minor: 1, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),
        DeviceRule(allow: true, type: "c", major: 136, minor: nil, access: "rwm"),
    ]

    /// The v1 devices controller: the rules in order, then the default devices. On update the
    /// old list is reset first ("a" denied), as the config's list is the whole list.
    static func applyDevicesV1(_ rules: [DeviceRule], extra: [DeviceRule], dir: String, path: String, replace: Bool) throws {
        if replace { try write(CgroupWrite(file: dir + "/devices.deny", value: "a", field: path)) }
        for (i, rule) in (rules + extra + defaultAllowed).enumerated() {
            let type = rule.type ?? "a"
            let major = rule.major.map(String.init) ?? "*"
            let minor = rule.minor.map(String.init) ?? "*"
            let access = rule.access ?? "rwm"
            let line = type == "a" ? "a *:* \(access)" : "\(type) \(major):\(minor) \(access)"
            try write(CgroupWrite(file: dir + (rule.allow ? "/devices.allow" : "/devices.deny"), value: line,
                                  field: i < rules.count ? "\(path)[\(i)]" : path))
        }
    }
}

/// A worded error from the cgroup code.
public struct RuntimeErrorText: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
