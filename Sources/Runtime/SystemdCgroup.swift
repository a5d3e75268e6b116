import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// The systemd cgroup driver's part of `create`, `update` and `delete`. With --systemd-cgroup
/// systemd makes the container's cgroup: `create` forks the first container process (which
/// waits for a go-ahead before running anything), asks systemd for a transient scope with that
/// pid in it, then writes the limits systemd does not know into the scope's cgroup (Delegate=
/// yes) and joins the hierarchies systemd left out, and only then lets the process go on.
enum SystemdCgroup {
    /// Connects to systemd before anything is made (a clear error when it is not there).
    static func connect(_ config: ContainerConfig) throws -> SystemdManager? {
        guard config.systemdUnit != nil else { return nil }
        do { return try SystemdManager() } catch let e as RuntimeErrorText { throw RuntimeError(e.description) }
    }

    /// Starts the scope for `pid` and checks that systemd put it at the expected path.
    static func start(_ manager: SystemdManager, config: ContainerConfig, pid: pid_t) throws {
        let unit = config.systemdUnit!
        let unified = config.cgroupLayout.v1.isEmpty
        let props = unit.startProperties(pid: pid, description: "skiff container \(config.options.id)",
                                         resources: config.spec.linux?.resources, unified: unified)
        Log.debug("systemd: StartTransientUnit \(unit.unit) in \(unit.slice) over \(manager.bus.address)")
        do { try manager.startScope(unit, properties: props) } catch let e as RuntimeErrorText { throw RuntimeError(e.description) }
        let actual = placement(pid: pid, layout: config.cgroupLayout)
        if let actual, actual != config.cgroupPath {
            throw RuntimeError("--systemd-cgroup: systemd put the container in the cgroup \(q(actual)), not \(q(config.cgroupPath)) (the unit \(JSON.quoted(unit.unit)))")
        }
    }

    /// The cgroup `pid` is in: the unified hierarchy's line of /proc/PID/cgroup, else systemd's
    /// own v1 hierarchy (name=systemd).
    static func placement(pid: pid_t, layout: CgroupLayout) -> String? {
        guard let lines = Cgroup.membership(pid: pid) else { return nil }
        if layout.unified != nil, let u = lines.first(where: { $0.controllers.isEmpty }) { return u.path }
        return lines.first { $0.controllers == "name=systemd" }?.path
    }

    /// Stops a container's scope (delete, or a failed create).
    static func stop(_ unit: String) throws {
        do { try SystemdManager().stop(unit) } catch let e as RuntimeErrorText { throw RuntimeError(e.description) }
    }

    /// `update` on a systemd container: the properties systemd knows go to the unit too, so
    /// that systemd never puts back the old values.
    static func update(_ unit: String, _ r: Resources) throws {
        let props = SystemdUnit.resourceProperties(r, unified: CgroupLayout.current.v1.isEmpty)
        do { try SystemdManager().setProperties(unit, props) } catch let e as RuntimeErrorText { throw RuntimeError(e.description) }
    }
}
