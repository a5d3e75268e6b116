import Cgroups
import LinuxSys
import OCISpec

/// What skiff does not implement yet. Each is refused with the JSON path and a clear word,
/// never dropped silently; the README's feature table lists the same things. Shrinks as
/// features land.
enum Support {
    static func check(_ spec: Spec, plan: NamespacePlan) throws {
        if let p = spec.process {
            try checkProcess(p, path: "process")
        }
        try IdmappedMounts.validate(spec, plan: plan)
        guard let linux = spec.linux else { return }
        if linux.intelRdt != nil { throw DecodeError.unsupported("linux.intelRdt", "Intel RDT") }
        try NetDevices.check(linux, plan: plan)
        if let l = linux.mountLabel, !l.isEmpty {
            throw DecodeError(path: "linux.mountLabel", "SELinux is not enabled on this host", hint: "remove the label")
        }
        if let r = linux.resources { try CgroupResources.checkSupported(r, path: "linux.resources", layout: .current) }
    }

    static func checkProcess(_ p: OCISpec.Process, path: String) throws {
        if let a = p.apparmorProfile, !a.isEmpty {
            let enabled = Files.readIfPresent("/sys/module/apparmor/parameters/enabled")?.hasPrefix("Y") == true
            if enabled { throw DecodeError.unsupported("\(path).apparmorProfile", "AppArmor") }
            throw DecodeError(path: "\(path).apparmorProfile", "AppArmor is not enabled on this host, so profile \(JSON.quoted(a)) cannot be applied",
                              hint: "remove apparmorProfile")
        }
        if let l = p.selinuxLabel, !l.isEmpty {
            throw DecodeError(path: "\(path).selinuxLabel", "SELinux is not enabled on this host", hint: "remove the label")
        }
    }
}
