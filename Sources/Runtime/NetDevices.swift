import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// `linux.netDevices` (config-linux.md "Network Devices"): host interfaces moved into the
/// container's network namespace by the parent (which is in the host's), renamed on the way,
/// brought up, with their permanent global addresses. They are not moved back on delete (the
/// spec forbids it): the kernel returns physical devices to the host when the namespace goes,
/// and destroys virtual ones.
enum NetDevices {
    /// Before anything is created: the devices exist on the host, and the container has a
    /// network namespace of its own to receive them.
    static func check(_ linux: Linux, plan: NamespacePlan) throws {
        guard !linux.netDevices.isEmpty else { return }
        if geteuid() != 0 {
            throw DecodeError(path: "linux.netDevices", "moving host network interfaces needs root (CAP_NET_ADMIN on the host)",
                              hint: "remove netDevices from a rootless container")
        }
        if !plan.isNew(.network) && !plan.join.contains(where: { $0.type == .network }) {
            throw DecodeError(path: "linux.netDevices", "the container shares the host's network namespace, so there is nowhere to move the devices",
                              hint: "add {\"type\": \"network\"} to linux.namespaces")
        }
        for (name, _) in linux.netDevices where skiff_if_exists(name) == 0 {
            throw DecodeError(path: "linux.netDevices.\(name)", "the host has no network interface \(JSON.quoted(name))",
                              hint: "`ip link` lists the host's interfaces")
        }
    }

    /// Moves every device into the network namespace of `pid` (the container's init).
    static func move(_ devices: [(String, NetDevice)], intoNetnsOf pid: pid_t) throws {
        guard !devices.isEmpty else { return }
        let nsfd = try sys("linux.netDevices: open the container's network namespace") {
            skiff_open("/proc/\(pid)/ns/net", O_RDONLY | O_CLOEXEC, 0)
        }
        defer { close(nsfd) }
        for (name, dev) in devices {
            var step: Int32 = 0
            var final = [CChar](repeating: 0, count: 32)
            let rc = skiff_netdev_move(name, nsfd, dev.name ?? "", &step, &final, final.count)
            guard rc != 0 else {
                Log.debug("linux.netDevices.\(name): moved into the container as \(String(cString: final))")
                continue
            }
            let e = -rc
            let target = dev.name ?? name
            let what: String
            switch step {
            case 1: what = "the host has no network interface \(JSON.quoted(name))"
            case 2: what = "cannot read the addresses of \(JSON.quoted(name))"
            case 3 where e == EEXIST:
                what = "the container already has an interface named \(JSON.quoted(target)) (end the name with %d to let the kernel number it)"
            case 3: what = "cannot move \(JSON.quoted(name)) into the container's network namespace"
            case 4: what = "cannot enter the container's network namespace"
            case 5: what = "cannot bring \(JSON.quoted(target)) up in the container"
            default: what = "cannot give \(JSON.quoted(target)) back its addresses in the container"
            }
            throw RuntimeError("linux.netDevices.\(name): \(what): \(SysError.text(e))")
        }
    }
}
