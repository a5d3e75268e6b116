import CSkiff
import Glibc
import LinuxSys
import SkiffJSON

/// A container's resource usage read from its cgroup files, in the shape of runc's
/// `events --stats` data (runc's types.Stats), so tools written for runc can read it.
public enum CgroupStats {
    /// Reads everything the host's controllers offer for this cgroup.
    public static func read(_ cg: Cgroup) -> JSON {
        var dirs = ControllerDirs(cg)
        // Only the hierarchies the container has a directory in (a container created in
        // another mount namespace may use fewer than this one mounts).
        dirs.v1 = dirs.v1.filter { Files.isDirectory($0.value) }
        var data: [(String, JSON)] = []
        data.append(("cpu", cpu(dirs)))
        data.append(("memory", memory(dirs)))
        data.append(("pids", pids(dirs)))
        data.append(("blkio", blkio(dirs)))
        if let h = hugetlb(dirs) { data.append(("hugetlb", h)) }
        return .object(data)
    }

    static func text(_ path: String) -> String? {
        Files.readIfPresent(path)?.trimmingCharacters(in: " \n")
    }

    static func number(_ path: String) -> UInt64? {
        guard let t = text(path) else { return nil }
        if t == "max" { return UInt64(Int64.max) }
        return UInt64(t)
    }

    /// "key value" lines (memory.stat, cpu.stat, ...).
    public static func keyValues(_ text: String?) -> [(String, UInt64)] {
        (text ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 2, let v = UInt64(f[1]) else { return nil }
            return (String(f[0]), v)
        }
    }

    static func obj(_ pairs: [(String, UInt64?)]) -> JSON {
        .object(pairs.compactMap { k, v in v.map { (k, JSON.int(Int64(clamping: $0))) } })
    }

    static func cpu(_ dirs: ControllerDirs) -> JSON {
        var usage: [(String, JSON)] = []
        var throttling: [(String, UInt64?)] = []
        if let acct = dirs.v1["cpuacct"] {
            if let total = number(acct + "/cpuacct.usage") { usage.append(("total", .int(Int64(clamping: total)))) }
            let per = (text(acct + "/cpuacct.usage_percpu") ?? "").split(separator: " ").compactMap { UInt64($0) }
            usage.append(("percpu", .array(per.map { .int(Int64(clamping: $0)) })))
            // cpuacct.stat counts USER_HZ ticks (100 per second).
            let stat = Dictionary(keyValues(text(acct + "/cpuacct.stat")), uniquingKeysWith: { a, _ in a })
            usage.append(("kernel", .int(Int64(clamping: (stat["system"] ?? 0) * 10_000_000))))
            usage.append(("user", .int(Int64(clamping: (stat["user"] ?? 0) * 10_000_000))))
        } else if let dir = dirs.dir("cpu").flatMap({ $0.v1 ? nil : $0.path }) ?? dirs.unified {
            // v2 cpu.stat is always there (core accounting); times in microseconds.
            let stat = Dictionary(keyValues(text(dir + "/cpu.stat")), uniquingKeysWith: { a, _ in a })
            usage.append(("total", .int(Int64(clamping: (stat["usage_usec"] ?? 0) * 1000))))
            usage.append(("kernel", .int(Int64(clamping: (stat["system_usec"] ?? 0) * 1000))))
            usage.append(("user", .int(Int64(clamping: (stat["user_usec"] ?? 0) * 1000))))
        }
        if let (dir, isV1) = dirs.dir("cpu") {
            let stat = Dictionary(keyValues(text(dir + "/cpu.stat")), uniquingKeysWith: { a, _ in a })
            throttling = [("periods", stat["nr_periods"]), ("throttledPeriods", stat["nr_throttled"]),
                          ("throttledTime", isV1 ? stat["throttled_time"] : stat["throttled_usec"].map { $0 * 1000 })]
        }
        return .object([("usage", .object(usage)), ("throttling", obj(throttling))])
    }

    static func memory(_ dirs: ControllerDirs) -> JSON {
        guard let (dir, isV1) = dirs.dir("memory") else { return .object([]) }
        let raw = keyValues(text(dir + "/memory.stat"))
        let rawDict = Dictionary(raw, uniquingKeysWith: { a, _ in a })
        var out: [(String, JSON)] = []
        if isV1 {
            func entry(_ prefix: String) -> JSON? {
                guard Files.exists(dir + "/\(prefix).usage_in_bytes") else { return nil }
                return obj([("limit", number(dir + "/\(prefix).limit_in_bytes")), ("usage", number(dir + "/\(prefix).usage_in_bytes")),
                            ("max", number(dir + "/\(prefix).max_usage_in_bytes")), ("failcnt", number(dir + "/\(prefix).failcnt"))])
            }
            out.append(("cache", .int(Int64(clamping: rawDict["total_cache"] ?? rawDict["cache"] ?? 0))))
            if let u = entry("memory") { out.append(("usage", u)) }
            if let s = entry("memory.memsw") { out.append(("swap", s)) }
            if let k = entry("memory.kmem") { out.append(("kernel", k)) }
            if let k = entry("memory.kmem.tcp") { out.append(("kernelTCP", k)) }
        } else {
            let events = Dictionary(keyValues(text(dir + "/memory.events")), uniquingKeysWith: { a, _ in a })
            out.append(("cache", .int(Int64(clamping: rawDict["file"] ?? 0))))
            out.append(("usage", obj([("limit", number(dir + "/memory.max")), ("usage", number(dir + "/memory.current")),
                                      ("max", number(dir + "/memory.peak")), ("failcnt", events["max"])])))
            if Files.exists(dir + "/memory.swap.current") {
                out.append(("swap", obj([("limit", number(dir + "/memory.swap.max")), ("usage", number(dir + "/memory.swap.current")),
                                               ("max", number(dir + "/memory.swap.peak")), ("failcnt", events["max"])])))
            }
        }
        out.append(("raw", .object(raw.map { ($0.0, .int(Int64(clamping: $0.1))) })))
        return .object(out)
    }

    static func pids(_ dirs: ControllerDirs) -> JSON {
        guard let (dir, _) = dirs.dir("pids") else { return .object([]) }
        return obj([("current", number(dir + "/pids.current")), ("limit", number(dir + "/pids.max"))])
    }

    /// One blkio entry list per statistic: [{major, minor, op, value}].
    static func blkio(_ dirs: ControllerDirs) -> JSON {
        func entry(_ major: UInt64, _ minor: UInt64, _ op: String, _ value: UInt64) -> JSON {
            .object([("major", .int(Int64(major))), ("minor", .int(Int64(minor))), ("op", .string(op)), ("value", .int(Int64(clamping: value)))])
        }
        func device(_ s: Substring) -> (UInt64, UInt64)? {
            let p = s.split(separator: ":")
            guard p.count == 2, let a = UInt64(p[0]), let b = UInt64(p[1]) else { return nil }
            return (a, b)
        }
        if let dir = dirs.v1["blkio"] {
            func list(_ file: String) -> JSON {
                let rows = (text(dir + "/" + file) ?? "").split(separator: "\n").compactMap { line -> JSON? in
                    let f = line.split(separator: " ")
                    guard f.count == 3, let (ma, mi) = device(f[0]), let v = UInt64(f[2]) else { return nil }
                    return entry(ma, mi, String(f[1]), v)
                }
                return .array(rows)
            }
            return .object([("ioServiceBytesRecursive", list("blkio.throttle.io_service_bytes_recursive")),
                             ("ioServicedRecursive", list("blkio.throttle.io_serviced_recursive"))])
        }
        guard let io = dirs.dir("io"), !io.v1 else { return .object([]) }
        let dir = io.path
        var bytes: [JSON] = [], ios: [JSON] = []
        for line in (text(dir + "/io.stat") ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let first = f.first, let (ma, mi) = device(first) else { continue }
            let pairs: [(String, UInt64)] = f.dropFirst().compactMap { p -> (String, UInt64)? in
                let x = p.split(separator: "=")
                guard x.count == 2, let v = UInt64(x[1]) else { return nil }
                return (String(x[0]), v)
            }
            let kv = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
            bytes += [entry(ma, mi, "Read", kv["rbytes"] ?? 0), entry(ma, mi, "Write", kv["wbytes"] ?? 0)]
            ios += [entry(ma, mi, "Read", kv["rios"] ?? 0), entry(ma, mi, "Write", kv["wios"] ?? 0)]
        }
        return .object([("ioServiceBytesRecursive", .array(bytes)), ("ioServicedRecursive", .array(ios))])
    }

    static func hugetlb(_ dirs: ControllerDirs) -> JSON? {
        guard let (dir, isV1) = dirs.dir("hugetlb") else { return nil }
        let suffix = isV1 ? ".usage_in_bytes" : ".current"
        let sizes = Files.list(dir).filter { $0.hasPrefix("hugetlb.") && $0.hasSuffix(suffix) && !$0.contains(".rsvd.") }
            .map { String($0.dropFirst(8).dropLast(suffix.count)) }.sorted()
        return .object(sizes.map { size in
            let base = dir + "/hugetlb.\(size)"
            if isV1 {
                return (size, obj([("usage", number(base + ".usage_in_bytes")), ("max", number(base + ".max_usage_in_bytes")),
                                   ("failcnt", number(base + ".failcnt"))]))
            }
            let events = Dictionary(keyValues(text(base + ".events")), uniquingKeysWith: { a, _ in a })
            return (size, obj([("usage", number(base + ".current")), ("failcnt", events["max"])]))
        })
    }

    /// How many times the kernel's OOM killer killed a process of this cgroup.
    public static func oomKills(_ cg: Cgroup) -> UInt64 {
        guard let (dir, isV1) = ControllerDirs(cg).dir("memory") else { return 0 }
        let file = isV1 ? "/memory.oom_control" : "/memory.events"
        return Dictionary(keyValues(text(dir + file)), uniquingKeysWith: { a, _ in a })["oom_kill"] ?? 0
    }
}

/// Waits for OOM kills in a cgroup: v1 registers an eventfd on memory.oom_control through
/// cgroup.event_control; v2 watches memory.events with inotify. `fd` is what to poll.
public struct OOMWatcher {
    public let fd: Int32
    let cgroup: Cgroup
    var seen: UInt64

    public init?(_ cg: Cgroup) {
        guard let (dir, isV1) = ControllerDirs(cg).dir("memory") else { return nil }
        cgroup = cg
        seen = CgroupStats.oomKills(cg)
        if isV1 {
            let efd = skiff_eventfd()
            let ctl = skiff_open(dir + "/memory.oom_control", O_RDONLY | O_CLOEXEC, 0)
            guard efd >= 0, ctl >= 0 else {
                if efd >= 0 { Glibc.close(efd) }
                if ctl >= 0 { Glibc.close(ctl) }
                return nil
            }
            // The kernel keeps its own reference to memory.oom_control once registered.
            defer { Glibc.close(ctl) }
            guard (try? Files.write(dir + "/cgroup.event_control", "\(efd) \(ctl)", flags: O_WRONLY)) != nil else {
                Glibc.close(efd)
                return nil
            }
            fd = efd
        } else {
            let ifd = skiff_inotify_init()
            guard ifd >= 0, skiff_inotify_add_watch(ifd, dir + "/memory.events", SKIFF_IN_MODIFY) >= 0 else {
                if ifd >= 0 { Glibc.close(ifd) }
                return nil
            }
            fd = ifd
        }
    }

    /// After `fd` polled readable: drains it and returns how many new OOM kills happened
    /// (v1 also signals when the cgroup goes away; that counts as none).
    public mutating func drain() -> UInt64 {
        var buf = [UInt8](repeating: 0, count: 4096)
        _ = Glibc.read(fd, &buf, buf.count)
        return newKills()
    }

    /// OOM kills counted since the last call, without waiting (the fd may not be signalled
    /// yet when the container has just stopped).
    public mutating func newKills() -> UInt64 {
        let now = CgroupStats.oomKills(cgroup)
        defer { seen = max(seen, now) }
        return now > seen ? now - seen : 0
    }

    public func close() { Glibc.close(fd) }
}
