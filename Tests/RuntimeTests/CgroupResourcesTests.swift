import Cgroups
import OCISpec
import Testing

@Suite struct CgroupResourcesTests {
    let v1 = ControllerDirs(v1: ["memory": "/m/c", "cpu": "/c/c", "cpuacct": "/c/c", "pids": "/p/c", "blkio": "/b/c", "cpuset": "/s/c"])
    let v2 = ControllerDirs(unified: "/u/c", v2Controllers: ["memory", "cpu", "pids", "io", "hugetlb", "cpuset"])

    func files(_ w: [CgroupWrite]) -> [String] { w.map { "\($0.file)=\($0.value)" } }

    @Test func v1MemoryAndSwapOrderFollowsTheCurrentLimit() throws {
        var r = Resources()
        r.memory = MemoryResources(limit: 32 << 20, swap: 64 << 20)
        // Growing past the current limit: memsw first.
        let up = try CgroupResources.plan(r, dirs: v1, path: "", exists: { _ in true }, read: { _ in "16777216\n" })
        #expect(files(up) == ["/m/c/memory.memsw.limit_in_bytes=67108864", "/m/c/memory.limit_in_bytes=33554432"])
        // Shrinking below the current limit: memory first.
        let down = try CgroupResources.plan(r, dirs: v1, path: "", exists: { _ in true }, read: { _ in "1073741824\n" })
        #expect(files(down) == ["/m/c/memory.limit_in_bytes=33554432", "/m/c/memory.memsw.limit_in_bytes=67108864"])
        #expect(down[0].field == "memory.limit")
    }

    @Test func v1SwapWithoutAccountingIsAnError() throws {
        var r = Resources()
        r.memory = MemoryResources(limit: 32 << 20, swap: 64 << 20)
        #expect(throws: RuntimeErrorText.self) {
            try CgroupResources.plan(r, dirs: v1, path: "linux.resources", exists: { !$0.hasSuffix("memsw.limit_in_bytes") }, read: { _ in nil })
        }
        // swap == limit (docker's --memory without --memory-swap on such hosts) is fine.
        r.memory = MemoryResources(limit: 32 << 20, swap: 32 << 20)
        let w = try CgroupResources.plan(r, dirs: v1, path: "", exists: { !$0.hasSuffix("memsw.limit_in_bytes") }, read: { _ in nil })
        #expect(files(w) == ["/m/c/memory.limit_in_bytes=33554432"])
    }

    @Test func v2Conversions() throws {
        var r = Resources()
        r.memory = MemoryResources(limit: 100, reservation: -1, swap: 300)
        r.cpu = CPUResources(shares: 1024, quota: 50000, burst: 1000, period: 100000)
        r.pids = PidsResources(limit: -1)
        r.blockIO = BlockIO(weight: 500, throttleReadBpsDevice: [ThrottleDevice(major: 8, minor: 0, rate: 1000)])
        r.hugepageLimits = [HugepageLimit(pageSize: "2MB", limit: 4 << 20)]
        let w = try CgroupResources.plan(r, dirs: v2, path: "linux.resources", exists: { !$0.hasSuffix("io.bfq.weight") }, read: { _ in nil })
        #expect(files(w) == [
            "/u/c/memory.max=100", "/u/c/memory.low=max", "/u/c/memory.swap.max=200",
            "/u/c/cpu.weight=39", "/u/c/cpu.max=50000 100000", "/u/c/cpu.max.burst=1000",
            "/u/c/pids.max=max",
            "/u/c/io.weight=4950", "/u/c/io.max=8:0 rbps=1000",
            "/u/c/hugetlb.2MB.max=4194304",
        ])
        #expect(w[0].field == "linux.resources.memory.limit")
        #expect(CgroupResources.weight(shares: 2) == 1 && CgroupResources.weight(shares: 262144) == 10000)
    }

    @Test(arguments: [
        ("swappiness", "cgroup v2 has no per-cgroup swappiness"),
        ("realtime", "no real-time CPU budget"),
        ("unified-v1", "bound to a cgroup v1 hierarchy"),
        ("net_cls", "net_cls controller is not mounted"),
        ("missing", "the rdma controller is not available"),
    ])
    func settingsThatCannotWorkSaySo(_ c: (String, String)) throws {
        var r = Resources()
        var dirs = v2
        switch c.0 {
        case "swappiness": r.memory = MemoryResources(swappiness: 10)
        case "realtime": r.cpu = CPUResources(realtimeRuntime: 1000)
        case "unified-v1":
            dirs = ControllerDirs(v1: ["memory": "/m/c"], unified: "/u/c", v2Controllers: ["hugetlb"])
            r.unified = [("memory.high", "1000")]
        case "net_cls": r.network = NetworkResources(classID: 7)
        default: r.rdma = [("mlx5_0", RdmaLimit(hcaHandles: 1))]
        }
        do {
            _ = try CgroupResources.plan(r, dirs: dirs, path: "linux.resources", exists: { _ in true }, read: { _ in nil })
            Issue.record("no error for \(c.0)")
        } catch let e as RuntimeErrorText {
            #expect(e.description.hasPrefix("linux.resources."))
            #expect(e.description.contains(c.1), "\(e.description)")
        }
    }
}

/// The v2 device filter, run by a tiny interpreter of the instructions it uses and compared
/// with v1's semantics (last matching rule wins, access must be a subset, default deny).
@Suite struct DeviceFilterTests {
    func run(_ p: [DeviceFilter.Insn], type: Int32, access: Int32, major: Int32, minor: Int32) -> Int64 {
        var r = [Int64](repeating: 0, count: 11)
        let ctx: [Int16: Int64] = [0: Int64(type | (access << 16)), 4: Int64(major), 8: Int64(minor)]
        var pc = 0
        while pc < p.count {
            let i = p[pc]
            let d = Int(i.dst), s = Int(i.src)
            switch i.code {
            case 0x61: r[d] = ctx[i.off]!
            case 0x54: r[d] = Int64(UInt32(truncatingIfNeeded: r[d]) & UInt32(bitPattern: i.imm))
            case 0x74: r[d] = Int64(UInt32(truncatingIfNeeded: r[d]) >> UInt32(i.imm))
            case 0xbc: r[d] = Int64(UInt32(truncatingIfNeeded: r[s]))
            case 0xb7: r[d] = Int64(i.imm)
            case 0x55: if r[d] != Int64(i.imm) { pc += Int(i.off) }
            case 0x95: return r[0]
            default: Issue.record("unexpected opcode \(i.code)"); return -1
            }
            pc += 1
        }
        Issue.record("fell off the end")
        return -1
    }

    func reference(_ rules: [DeviceRule], type: String, access: Set<Character>, major: Int64, minor: Int64) -> Int64 {
        var allowed = false
        for rule in rules {
            let t = rule.type ?? "a"
            guard t == "a" || t == type else { continue }
            guard access.isSubset(of: Set(rule.access ?? "rwm")) else { continue }
            if t != "a", let m = rule.major, m != major { continue }
            if t != "a", let m = rule.minor, m != minor { continue }
            allowed = rule.allow
        }
        return allowed ? 1 : 0
    }

    @Test func matchesV1Semantics() {
        let rules = [
            DeviceRule(allow: false, access: "rwm"),
            DeviceRule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            DeviceRule(allow: true, type: "c", major: 10, minor: 229, access: "m"),
            DeviceRule(allow: true, type: "b", major: 8, minor: nil, access: "r"),
            DeviceRule(allow: false, type: "b", major: 8, minor: 1, access: "rw"),
            DeviceRule(allow: true, type: "c", major: 136, minor: nil, access: "rw"),
        ]
        let p = DeviceFilter.program(rules)
        let accesses: [(Int32, Set<Character>)] = [(1, ["m"]), (2, ["r"]), (4, ["w"]), (6, ["r", "w"]), (7, ["r", "w", "m"])]
        for (type, t) in [(Int32(2), "c"), (1, "b")] {
            for major in [1, 8, 10, 136, 5] as [Int64] {
                for minor in [0, 1, 3, 229] as [Int64] {
                    for (bits, set) in accesses {
                        let got = run(p, type: type, access: bits, major: Int32(major), minor: Int32(minor))
                        let want = reference(rules, type: t, access: set, major: major, minor: minor)
                        #expect(got == want, "\(t) \(major):\(minor) \(set.sorted())")
                    }
                }
            }
        }
    }

    @Test func anAllowAllRuleEndsTheProgram() {
        let p = DeviceFilter.program([DeviceRule(allow: false, type: "c", major: 1, minor: 3, access: "rwm"), DeviceRule(allow: true, access: "rwm")])
        #expect(run(p, type: 2, access: 2, major: 1, minor: 3) == 1)
        #expect(p.count == 6 + 2)
    }
}
