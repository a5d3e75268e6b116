import CCap
import OCISpec
import Runtime
import Seccomp

/// `features` (features.md): what this skiff implements, as containerd and the runtime-tools
/// ask. It must tell the truth: what is refused at create is not listed.
enum FeaturesCommand {
    static let command = Command(name: "features", usage: "", summary: "print the features skiff implements, as JSON", flags: []) { p, _ in
        if !p.positional.isEmpty { throw UsageError("`skiff features` takes no arguments") }
        print(features().serialized(indent: 2))
        return 0
    }

    static let archCandidates = ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"]

    static func strings(_ a: [String]) -> JSON { .array(a.map { .string($0) }) }

    static func features() -> JSON {
        // Capabilities libcap knows on this build, as CAP_* names.
        var caps: [String] = []
        for v in 0..<cap_max_bits() {
            if let name = cap_to_name(v) {
                let n = String(cString: name).uppercased()
                cap_free(name)
                if n.hasPrefix("CAP_") { caps.append(n) }
            }
        }
        return .obj([
            ("ociVersionMin", .string("1.0.0")),
            ("ociVersionMax", .string("1.3.0")),
            ("hooks", strings(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"])),
            ("mountOptions", strings(MountOptions.supportedNames)),
            ("linux", .obj([
                ("namespaces", strings(NamespaceType.allCases.map(\.rawValue))),
                ("capabilities", strings(caps)),
                ("cgroup", .obj([("v1", .bool(true)), ("v2", .bool(true)), ("systemd", .bool(true)),
                                 ("systemdUser", .bool(false)), ("rdma", .bool(true))])),
                ("seccomp", .obj([
                    ("enabled", .bool(true)),
                    ("actions", strings(SeccompAction.allCases.map(\.rawValue))),
                    ("operators", strings(SeccompOperator.allCases.map(\.rawValue))),
                    ("archs", strings(SeccompSupport.architectures(archCandidates))),
                    ("knownFlags", strings(SeccompFlag.allCases.map(\.rawValue))),
                    ("supportedFlags", strings(SeccompSupport.supportedFlags.map(\.rawValue))),
                ])),
                ("apparmor", .obj([("enabled", .bool(false))])),
                ("selinux", .obj([("enabled", .bool(false))])),
                ("intelRdt", .obj([("enabled", .bool(false))])),
                ("mountExtensions", .obj([("idmap", .obj([("enabled", .bool(true))]))])),
                ("netDevices", .obj([("enabled", .bool(true))])),
            ])),
            ("annotations", .obj([("org.opencontainers.runtime-spec.features", .string("skiff"))])),
        ])
    }
}
