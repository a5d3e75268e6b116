import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// Delegation of the container's cgroup to the container user, as runc does it: when the
/// container has a cgroup namespace of its own and mounts the cgroup filesystem writable at
/// /sys/fs/cgroup, the cgroup v2 directory and its delegatable files (/sys/kernel/cgroup/
/// delegate: cgroup.procs, cgroup.threads, cgroup.subtree_control...) belong to the host uid of
/// process.user.uid, so that a non-root container user (or the root of a user namespace) can
/// manage its own sub-cgroups.
enum CgroupOwner {
    /// The host uid to own the cgroup, or nil when the config does not ask for delegation (or
    /// the user has no host uid in linux.uidMappings).
    static func owner(_ config: ContainerConfig) -> uid_t? {
        guard config.plan.isNew(.cgroup) else { return nil }
        let writable = config.spec.mounts.contains { m in
            guard m.type == "cgroup" || (m.type == nil && m.source == "cgroup"), Files.clean(m.destination) == "/sys/fs/cgroup",
                  let o = try? MountOptions(m.options, path: "") else { return false }
            return o.flags & SKIFF_MS_RDONLY == 0
        }
        guard writable else { return nil }
        let uid = config.process.user.uid
        guard config.plan.has(.user) else { return uid }
        for m in config.spec.linux?.uidMappings ?? [] where uid >= m.containerID && uid - m.containerID < m.size {
            return m.hostID + (uid - m.containerID)
        }
        return nil
    }

    static let defaultDelegateFiles = ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"]

    /// Gives the cgroup v2 directory and its delegatable files to `uid` (the group stays).
    static func apply(_ cg: Cgroup, config: ContainerConfig) throws {
        guard let uid = owner(config), uid != 0, let dir = cg.unifiedDir else { return }
        let listed = Files.readIfPresent("/sys/kernel/cgroup/delegate")?.split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.contains("/") }
        let files = listed.flatMap { $0.isEmpty ? nil : $0 } ?? defaultDelegateFiles
        Log.debug("cgroup: \(q(dir)) delegated to uid \(uid)")
        for path in [dir] + files.map({ dir + "/" + $0 }) {
            if chown(path, uid, gid_t.max) != 0 && errno != ENOENT {
                throw RuntimeError("linux.cgroupsPath: cannot give \(q(path)) to uid \(uid) (a new cgroup namespace with a writable /sys/fs/cgroup delegates the cgroup to process.user): \(SysError.text(errno))")
            }
        }
    }
}
