import CSkiff
import Cgroups
import Glibc
import LinuxSys

/// Starting the container's first process inside its cgroup, with no race: where the cgroup
/// has a v2 directory (pure v2, or the unified hierarchy of a hybrid host), clone3 with
/// CLONE_INTO_CGROUP forks the process straight into it. Elsewhere (v1 hierarchies, a kernel
/// before 5.7, clone3 refused by a seccomp filter) a plain fork, and the parent writes the pid to
/// cgroup.procs while the child still waits for its go-ahead, before it runs anything.
enum CgroupFork {
    /// Returns the pid (0 in the child) and the directory the child was forked into (nil: none,
    /// it joins by cgroup.procs).
    static func fork(into cg: Cgroup) -> (pid_t, String?) {
        guard let dir = cg.unifiedDir else {
            Log.debug("cgroup: no cgroup v2 directory, the process joins by cgroup.procs")
            return (skiff_fork(), nil)
        }
        let fd = skiff_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        if fd < 0 {
            Log.debug("cgroup: cannot open \(q(dir)) (\(SysError.text(errno))): the process joins by cgroup.procs")
            return (skiff_fork(), nil)
        }
        let pid = skiff_fork_into_cgroup(fd)
        if pid == 0 { return (0, dir) }  // the child: nothing else here
        let e = errno
        close(fd)
        if pid > 0 {
            Log.debug("cgroup: forked into \(q(dir)) by clone3 CLONE_INTO_CGROUP")
            return (pid, dir)
        }
        Log.debug("cgroup: clone3 CLONE_INTO_CGROUP failed (\(SysError.text(e))): the process joins by cgroup.procs")
        return (skiff_fork(), nil)
    }
}
