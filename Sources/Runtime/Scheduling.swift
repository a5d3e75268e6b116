import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// The process settings about where and how the process runs: scheduler and I/O priority
/// (config.md), personality and NUMA memory policy (config-linux.md), exec CPU affinity.
/// Applied in the container process before execve; all are inherited across it.
enum Scheduling {
    /// Init and exec'd processes: process.scheduler and process.ioPriority.
    static func applyProcess(_ p: OCISpec.Process) throws {
        if let s = p.scheduler {
            let policy = SchedulerPolicy(rawValue: s.policy) ?? .other
            var flags: UInt64 = 0
            for f in s.flags {
                if let i = SchedulerFlag.allCases.firstIndex(where: { $0.rawValue == f }) { flags |= 1 << UInt64(i) }
            }
            if skiff_sched_setattr(UInt32(policy.number), flags, s.nice ?? 0, UInt32(max(0, s.priority ?? 0)),
                                   s.runtime ?? 0, s.deadline ?? 0, s.period ?? 0) != 0 {
                let e = errno
                let hint = e == EPERM ? " (real-time policies need CAP_SYS_NICE and a real-time budget in the cgroup)"
                    : e == EINVAL ? " (check the priority range of the policy: 1-99 for SCHED_FIFO/SCHED_RR, 0 otherwise)" : ""
                throw RuntimeError("process.scheduler: the kernel refused policy \(s.policy): \(SysError.text(e))\(hint)")
            }
        }
        if let io = p.ioPriority {
            let cls: Int32 = io.ioClass == IOPriorityClass.realtime.rawValue ? 1 : io.ioClass == IOPriorityClass.bestEffort.rawValue ? 2 : 3
            if skiff_ioprio_set_self(cls, io.priority) != 0 {
                throw RuntimeError("process.ioPriority: the kernel refused \(io.ioClass) \(io.priority): \(SysError.text(errno))")
            }
        }
    }

    /// Init only: linux.personality and linux.memoryPolicy.
    static func applyLinux(_ linux: Linux?) throws {
        if let p = linux?.personality {
            let persona: UInt = p.domain == PersonalityDomain.linux32.rawValue ? 0x0008 : 0x0000
            if skiff_personality(persona) < 0 {
                throw RuntimeError("linux.personality: cannot set domain \(p.domain): \(SysError.text(errno))")
            }
        }
        if let m = linux?.memoryPolicy {
            let mode = MemoryPolicyMode.allCases.firstIndex { $0.rawValue == m.mode } ?? 0
            var flags = 0
            for f in m.flags {
                switch f {
                case MemoryPolicyFlag.staticNodes.rawValue: flags |= 1 << 15
                case MemoryPolicyFlag.relativeNodes.rawValue: flags |= 1 << 14
                default: flags |= 1 << 13
                }
            }
            let nodes = try m.nodes.map { try cpuList($0, field: "linux.memoryPolicy.nodes") } ?? []
            var mask = [UInt](repeating: 0, count: 16) // 1024 nodes
            for n in nodes {
                guard n < mask.count * UInt.bitWidth else { throw RuntimeError("linux.memoryPolicy.nodes: node \(n) is out of range") }
                mask[n / UInt.bitWidth] |= 1 << UInt(n % UInt.bitWidth)
            }
            let r = nodes.isEmpty ? skiff_set_mempolicy(Int32(mode | flags), nil, 0)
                : skiff_set_mempolicy(Int32(mode | flags), mask, UInt(mask.count * UInt.bitWidth + 1))
            if r != 0 {
                throw RuntimeError("linux.memoryPolicy: the kernel refused \(m.mode)\(m.nodes.map { " on nodes \($0)" } ?? ""): \(SysError.text(errno)) (see set_mempolicy(2): some modes need nodes, others none)")
            }
        }
    }

    /// execCPUAffinity.initial (before joining the cgroup) or .final (after).
    static func setAffinity(_ list: String?, field: String) throws {
        guard let list, !list.isEmpty else { return }
        let cpus = try cpuList(list, field: field).map { Int32($0) }
        if skiff_set_affinity(cpus, Int32(cpus.count)) != 0 {
            throw RuntimeError("\(field): cannot run on CPUs \(list): \(SysError.text(errno)) (are they online and in the container's cpuset?)")
        }
    }

    /// "0-3,7" -> [0, 1, 2, 3, 7].
    static func cpuList(_ text: String, field: String) throws -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",") {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = Int(ends[0].trimmingCharacters(in: " ")), a >= 0,
                  let b = ends.count == 2 ? Int(ends[1].trimmingCharacters(in: " ")) : a, b >= a, b - a < 65536 else {
                throw RuntimeError("\(field): \(JSON.quoted(text)) is not a list such as \"0-3,7\"")
            }
            out += Array(a...b)
        }
        return out
    }
}
