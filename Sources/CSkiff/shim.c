#define _GNU_SOURCE
#include "CSkiff.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/personality.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/vfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int skiff_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int skiff_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int skiff_mount_setattr(int dirfd, const char *path, unsigned int flags,
                        uint64_t attr_set, uint64_t attr_clr, uint64_t propagation, uint64_t userns_fd) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clr;
    attr.propagation = propagation;
    attr.userns_fd = userns_fd;
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int skiff_open_tree(int dirfd, const char *path, unsigned int flags) {
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int skiff_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags) {
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

int skiff_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}

int skiff_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }

int skiff_pidfd_send_signal(int pidfd, int sig, unsigned int flags) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags);
}

int skiff_unshare(int flags) { return unshare(flags); }
int skiff_setns(int fd, int nstype) { return setns(fd, nstype); }
int skiff_setresuid(uid_t r, uid_t e, uid_t s) { return setresuid(r, e, s); }
int skiff_setresgid(gid_t r, gid_t e, gid_t s) { return setresgid(r, e, s); }
int skiff_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int skiff_accept4(int fd, int flags) { return accept4(fd, NULL, NULL, flags); }
const int SKIFF_O_PATH = O_PATH, SKIFF_AT_EMPTY_PATH = AT_EMPTY_PATH;
const unsigned long SKIFF_ST_NOSUID = ST_NOSUID, SKIFF_ST_NODEV = ST_NODEV, SKIFF_ST_NOEXEC = ST_NOEXEC,
    SKIFF_ST_NOATIME = ST_NOATIME, SKIFF_ST_NODIRATIME = ST_NODIRATIME, SKIFF_ST_RELATIME = ST_RELATIME;

int skiff_signalfd(const sigset_t *set) { return signalfd(-1, set, SFD_CLOEXEC); }
int skiff_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : -1;
}

void skiff_reset_signals(void) {
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } act;
    memset(&act, 0, sizeof act); /* SIG_DFL is 0 */
    for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        syscall(SYS_rt_sigaction, sig, &act, NULL, 8);
    }
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
}

long skiff_join_session_keyring(const char *name) {
    return syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name, 0, 0, 0);
}

int skiff_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}
int skiff_ioctl_int(int fd, unsigned long request, int arg) { return ioctl(fd, request, arg); }
int skiff_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
int skiff_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int skiff_open(const char *path, int flags, unsigned int mode) { return open(path, flags, mode); }
int skiff_openat(int dirfd, const char *path, int flags, unsigned int mode) { return openat(dirfd, path, flags, mode); }

pid_t skiff_fork(void) { return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }
pid_t skiff_fork_userns(void) { return (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); }
pid_t skiff_fork_sibling(void) { return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0); }

/* clone3(2) with CLONE_INTO_CGROUP (Linux 5.7): the child starts in the cgroup v2 directory
 * `cgroup_fd`, with no moment outside it. The layout of struct clone_args (v2, 88 bytes) is the
 * kernel's ABI; spelled out here so that no kernel header is needed. */
struct skiff_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
pid_t skiff_fork_into_cgroup(int cgroup_fd) {
    struct skiff_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = 0x200000000ULL; /* CLONE_INTO_CGROUP */
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup_fd;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

int skiff_wifexited(int status) { return WIFEXITED(status); }
int skiff_wexitstatus(int status) { return WEXITSTATUS(status); }
int skiff_wifsignaled(int status) { return WIFSIGNALED(status); }
int skiff_wtermsig(int status) { return WTERMSIG(status); }

int skiff_send_fd(int sock, int fd, const void *data, size_t len) {
    struct msghdr msg;
    struct iovec iov;
    char buf[CMSG_SPACE(sizeof(int))];
    char dummy = 0;
    memset(&msg, 0, sizeof msg);
    memset(buf, 0, sizeof buf);
    iov.iov_base = len ? (void *)data : &dummy;
    iov.iov_len = len ? len : 1;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int skiff_recv_fd(int sock, int *fd_out, void *data, size_t len) {
    struct msghdr msg;
    struct iovec iov;
    char buf[CMSG_SPACE(sizeof(int))];
    char dummy;
    memset(&msg, 0, sizeof msg);
    iov.iov_base = len ? data : &dummy;
    iov.iov_len = len ? len : 1;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    *fd_out = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd_out, CMSG_DATA(c), sizeof(int));
    }
    return (int)n;
}

long skiff_fs_magic(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    return (long)fs.f_type;
}

long skiff_fd_fs_magic(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return -1;
    return (long)fs.f_type;
}

int skiff_execveat_fd(int fd, char *const argv[], char *const envp[]) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
}

extern char **environ;
char **skiff_environ(void) { return environ; }


uint64_t skiff_makedev(uint32_t major, uint32_t minor) { return makedev(major, minor); }
uint32_t skiff_major(uint64_t dev) { return major(dev); }
uint32_t skiff_minor(uint64_t dev) { return minor(dev); }

const unsigned long SKIFF_MS_RDONLY = MS_RDONLY, SKIFF_MS_NOSUID = MS_NOSUID, SKIFF_MS_NODEV = MS_NODEV,
    SKIFF_MS_NOEXEC = MS_NOEXEC, SKIFF_MS_SYNCHRONOUS = MS_SYNCHRONOUS, SKIFF_MS_REMOUNT = MS_REMOUNT,
    SKIFF_MS_MANDLOCK = MS_MANDLOCK, SKIFF_MS_DIRSYNC = MS_DIRSYNC, SKIFF_MS_NOATIME = MS_NOATIME,
    SKIFF_MS_NODIRATIME = MS_NODIRATIME, SKIFF_MS_BIND = MS_BIND, SKIFF_MS_MOVE = MS_MOVE, SKIFF_MS_REC = MS_REC,
    SKIFF_MS_SILENT = MS_SILENT, SKIFF_MS_UNBINDABLE = MS_UNBINDABLE, SKIFF_MS_PRIVATE = MS_PRIVATE,
    SKIFF_MS_SLAVE = MS_SLAVE, SKIFF_MS_SHARED = MS_SHARED, SKIFF_MS_RELATIME = MS_RELATIME,
    SKIFF_MS_STRICTATIME = MS_STRICTATIME, SKIFF_MS_LAZYTIME = MS_LAZYTIME, SKIFF_MNT_DETACH = MNT_DETACH;
const int SKIFF_CLONE_NEWNS = CLONE_NEWNS, SKIFF_CLONE_NEWUTS = CLONE_NEWUTS, SKIFF_CLONE_NEWIPC = CLONE_NEWIPC,
    SKIFF_CLONE_NEWUSER = CLONE_NEWUSER, SKIFF_CLONE_NEWPID = CLONE_NEWPID, SKIFF_CLONE_NEWNET = CLONE_NEWNET,
    SKIFF_CLONE_NEWCGROUP = CLONE_NEWCGROUP, SKIFF_CLONE_NEWTIME = CLONE_NEWTIME;
const uint64_t SKIFF_MOUNT_ATTR_RDONLY = MOUNT_ATTR_RDONLY, SKIFF_MOUNT_ATTR_NOSUID = MOUNT_ATTR_NOSUID,
    SKIFF_MOUNT_ATTR_NODEV = MOUNT_ATTR_NODEV, SKIFF_MOUNT_ATTR_NOEXEC = MOUNT_ATTR_NOEXEC,
    SKIFF_MOUNT_ATTR__ATIME = MOUNT_ATTR__ATIME, SKIFF_MOUNT_ATTR_RELATIME = MOUNT_ATTR_RELATIME,
    SKIFF_MOUNT_ATTR_NOATIME = MOUNT_ATTR_NOATIME, SKIFF_MOUNT_ATTR_STRICTATIME = MOUNT_ATTR_STRICTATIME,
    SKIFF_MOUNT_ATTR_NODIRATIME = MOUNT_ATTR_NODIRATIME, SKIFF_MOUNT_ATTR_NOSYMFOLLOW = MOUNT_ATTR_NOSYMFOLLOW;
const unsigned int SKIFF_AT_RECURSIVE = AT_RECURSIVE, SKIFF_OPEN_TREE_CLONE = OPEN_TREE_CLONE,
    SKIFF_MOVE_MOUNT_F_EMPTY_PATH = MOVE_MOUNT_F_EMPTY_PATH, SKIFF_MOVE_MOUNT_T_EMPTY_PATH = MOVE_MOUNT_T_EMPTY_PATH;
const uint64_t SKIFF_MOUNT_ATTR_IDMAP = MOUNT_ATTR_IDMAP;
const uint64_t SKIFF_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT, SKIFF_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS,
    SKIFF_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS, SKIFF_RESOLVE_BENEATH = RESOLVE_BENEATH,
    SKIFF_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const unsigned long SKIFF_TIOCSCTTY = TIOCSCTTY, SKIFF_TIOCGWINSZ = TIOCGWINSZ, SKIFF_TIOCSWINSZ = TIOCSWINSZ,
    SKIFF_TIOCGPTPEER = TIOCGPTPEER;
const int SKIFF_PR_SET_NO_NEW_PRIVS = PR_SET_NO_NEW_PRIVS, SKIFF_PR_SET_CHILD_SUBREAPER = PR_SET_CHILD_SUBREAPER,
    SKIFF_PR_SET_PDEATHSIG = PR_SET_PDEATHSIG, SKIFF_PR_SET_DUMPABLE = PR_SET_DUMPABLE,
    SKIFF_PR_SET_KEEPCAPS = PR_SET_KEEPCAPS, SKIFF_PR_SET_NAME = PR_SET_NAME;

static long skiff_bpf(int cmd, union bpf_attr *attr) {
    return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int skiff_bpf_load_device_filter(const void *insns, unsigned int count, char *log, unsigned int log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = count;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.license = (uint64_t)(uintptr_t)"Apache";
    if (log && log_size) {
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
        attr.log_level = 1;
        log[0] = 0;
    }
    int fd = (int)skiff_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

int skiff_bpf_attach_device_filter(int cgroup_fd, int prog_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = cgroup_fd;
    attr.attach_bpf_fd = prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    return (int)skiff_bpf(BPF_PROG_ATTACH, &attr);
}

int skiff_bpf_query_device_filters(int cgroup_fd, uint32_t *ids, unsigned int max) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = max;
    if (skiff_bpf(BPF_PROG_QUERY, &attr) < 0) return -1;
    return (int)attr.query.prog_cnt;
}

int skiff_bpf_detach_device_filter(int cgroup_fd, uint32_t prog_id) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = prog_id;
    int prog_fd = (int)skiff_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (prog_fd < 0) return -1;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = cgroup_fd;
    attr.attach_bpf_fd = prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    int r = (int)skiff_bpf(BPF_PROG_DETACH, &attr);
    int e = errno;
    close(prog_fd);
    errno = e;
    return r;
}

int skiff_eventfd(void) { return eventfd(0, EFD_CLOEXEC); }
int skiff_inotify_init(void) { return inotify_init1(IN_CLOEXEC); }
int skiff_inotify_add_watch(int fd, const char *path, uint32_t mask) { return inotify_add_watch(fd, path, mask); }
const uint32_t SKIFF_IN_MODIFY = IN_MODIFY;

struct skiff_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

int skiff_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                        uint64_t runtime, uint64_t deadline, uint64_t period) {
    struct skiff_sched_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.sched_policy = policy;
    a.sched_flags = flags;
    a.sched_nice = nice;
    a.sched_priority = priority;
    a.sched_runtime = runtime;
    a.sched_deadline = deadline;
    a.sched_period = period;
    return (int)syscall(SYS_sched_setattr, 0, &a, 0);
}

int skiff_ioprio_set_self(int ioclass, int level) {
    /* IOPRIO_WHO_PROCESS = 1; the class sits above 13 bits of level */
    return (int)syscall(SYS_ioprio_set, 1, 0, (ioclass << 13) | level);
}

int skiff_personality(unsigned long persona) { return personality(persona); }

int skiff_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode) {
    return (int)syscall(SYS_set_mempolicy, mode, nodemask, maxnode);
}

int skiff_set_affinity(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof(set), &set);
}
