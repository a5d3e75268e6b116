import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// The device allow-list on cgroup v2: v2 has no devices files, so the list becomes an eBPF
/// program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the container's cgroup. The kernel runs it
/// on every open/mknod of a device node; it returns 1 (allow) or 0 (deny).
///
/// v1 semantics are kept: rules are applied in order and the last matching rule wins, so the
/// program tests them from the last to the first and returns at the first match. A request
/// matches a rule when its type matches, its access bits are all in the rule's, and major and
/// minor match (nil is a wildcard). No match: deny.
public enum DeviceFilter {
    /// One struct bpf_insn: opcode, dst and src registers, offset, immediate.
    public struct Insn: Equatable {
        public var code: UInt8
        public var dst: UInt8
        public var src: UInt8
        public var off: Int16
        public var imm: Int32

        var bytes: [UInt8] {
            var b = [code, (src << 4) | (dst & 0xf)]
            withUnsafeBytes(of: off.littleEndian) { b += $0 }
            withUnsafeBytes(of: imm.littleEndian) { b += $0 }
            return b
        }

        // The few instructions the filter needs (see linux/bpf.h, linux/bpf_common.h).
        static func loadWord(_ dst: UInt8, offset: Int16) -> Insn { Insn(code: 0x61, dst: dst, src: 1, off: offset, imm: 0) } // LDX|MEM|W
        static func and32(_ dst: UInt8, _ k: Int32) -> Insn { Insn(code: 0x54, dst: dst, src: 0, off: 0, imm: k) }            // ALU|AND|K
        static func rsh32(_ dst: UInt8, _ k: Int32) -> Insn { Insn(code: 0x74, dst: dst, src: 0, off: 0, imm: k) }            // ALU|RSH|K
        static func mov32(_ dst: UInt8, reg: UInt8) -> Insn { Insn(code: 0xbc, dst: dst, src: reg, off: 0, imm: 0) }          // ALU|MOV|X
        static func mov(_ dst: UInt8, _ k: Int32) -> Insn { Insn(code: 0xb7, dst: dst, src: 0, off: 0, imm: k) }              // ALU64|MOV|K
        static func jne(_ dst: UInt8, _ k: Int32, skip: Int16) -> Insn { Insn(code: 0x55, dst: dst, src: 0, off: skip, imm: k) } // JMP|JNE|K
        static let exit = Insn(code: 0x95, dst: 0, src: 0, off: 0, imm: 0)
    }

    // struct bpf_cgroup_dev_ctx: access_type (u32: type in the low 16 bits, access in the high
    // 16), major (u32), minor (u32).
    static let devBlock: Int32 = 1, devChar: Int32 = 2          // BPF_DEVCG_DEV_*
    static let accMknod: Int32 = 1, accRead: Int32 = 2, accWrite: Int32 = 4 // BPF_DEVCG_ACC_*

    /// The program for `rules` (the config's list followed by the default devices).
    public static func program(_ rules: [DeviceRule]) -> [Insn] {
        // r2 = type, r3 = access, r4 = major, r5 = minor
        var p: [Insn] = [
            .loadWord(2, offset: 0), .and32(2, 0xffff),
            .loadWord(3, offset: 0), .rsh32(3, 16),
            .loadWord(4, offset: 4),
            .loadWord(5, offset: 8),
        ]
        for rule in rules.reversed() {
            var block: [Insn] = []
            let type = rule.type ?? "a"
            if type == "c" || type == "b" {
                block.append(.jne(2, type == "c" ? devChar : devBlock, skip: 0))
            }
            let access = rule.access ?? "rwm"
            var mask: Int32 = 0
            if access.contains("m") { mask |= accMknod }
            if access.contains("r") { mask |= accRead }
            if access.contains("w") { mask |= accWrite }
            if mask != 7 {
                // Any requested bit outside the rule's access: no match.
                block += [.mov32(1, reg: 3), .and32(1, ~mask & 7), .jne(1, 0, skip: 0)]
            }
            if type != "a", let major = rule.major { block.append(.jne(4, Int32(truncatingIfNeeded: major), skip: 0)) }
            if type != "a", let minor = rule.minor { block.append(.jne(5, Int32(truncatingIfNeeded: minor), skip: 0)) }
            block += [.mov(0, rule.allow ? 1 : 0), .exit]
            // Every conditional jump goes to the end of this block (the next rule).
            for i in block.indices where block[i].code == 0x55 {
                block[i].off = Int16(block.count - 1 - i)
            }
            p += block
            // An unconditional rule makes everything before it in the list unreachable.
            if block.count == 2 { return p }
        }
        return p + [.mov(0, 0), .exit]
    }

    /// Loads the program for `rules` plus the default devices and attaches it to the cgroup
    /// directory, then detaches the programs that were there before (update replaces the list).
    public static func apply(_ rules: [DeviceRule], cgroupDir: String, field: String) throws {
        let insns = program(rules + CgroupResources.defaultAllowed)
        let bytes = insns.flatMap(\.bytes)
        let prog = bytes.withUnsafeBytes { skiff_bpf_load_device_filter($0.baseAddress, UInt32(insns.count), nil, 0) }
        if prog < 0 {
            let e = errno
            // Again with the verifier's log, to say why.
            var log = [CChar](repeating: 0, count: 1 << 16)
            let again = bytes.withUnsafeBytes { skiff_bpf_load_device_filter($0.baseAddress, UInt32(insns.count), &log, UInt32(log.count)) }
            if again >= 0 { close(again) }
            let verifier = String(cString: log).split(separator: "\n").suffix(3).joined(separator: "; ")
            throw RuntimeErrorText("\(field): cannot load the cgroup v2 device filter (eBPF): \(SysError.text(e))\(verifier.isEmpty ? "" : " (verifier: \(verifier))")")
        }
        defer { close(prog) }
        let dfd = skiff_open(cgroupDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard dfd >= 0 else { throw RuntimeErrorText("\(field): cannot open \(q(cgroupDir)): \(SysError.text(errno))") }
        defer { close(dfd) }
        var old = [UInt32](repeating: 0, count: 64)
        let n = skiff_bpf_query_device_filters(dfd, &old, UInt32(old.count))
        if skiff_bpf_attach_device_filter(dfd, prog) != 0 {
            throw RuntimeErrorText("\(field): cannot attach the device filter to \(q(cgroupDir)): \(SysError.text(errno))")
        }
        for id in old.prefix(max(0, Int(n))) { _ = skiff_bpf_detach_device_filter(dfd, id) }
    }
}
