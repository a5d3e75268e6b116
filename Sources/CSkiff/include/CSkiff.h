// CSkiff: the few things Swift cannot call directly on Linux: raw syscalls without glibc
// wrappers, variadic functions (prctl, ioctl, fcntl), and function-like macros (wait status,
// CMSG). Everything else is called from Swift through Glibc.
#ifndef CSKIFF_H
#define CSKIFF_H

#include <stdint.h>
#include <sys/types.h>

// Raw syscalls (glibc 2.36 has no wrappers for these).
int skiff_pivot_root(const char *new_root, const char *put_old);
int skiff_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int skiff_mount_setattr(int dirfd, const char *path, unsigned int flags,
                        uint64_t attr_set, uint64_t attr_clr, uint64_t propagation, uint64_t userns_fd);
int skiff_open_tree(int dirfd, const char *path, unsigned int flags);
int skiff_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path, unsigned int flags);
int skiff_close_range(unsigned int first, unsigned int last, unsigned int flags);
int skiff_pidfd_open(pid_t pid, unsigned int flags);
int skiff_pidfd_send_signal(int pidfd, int sig, unsigned int flags);

// A new session keyring for the container (runc does the same unless --no-new-keyring).
long skiff_join_session_keyring(const char *name);

// GNU extensions that Swift's Glibc module does not show (it is built without _GNU_SOURCE).
int skiff_unshare(int flags);
int skiff_setns(int fd, int nstype);
int skiff_setresuid(uid_t r, uid_t e, uid_t s);
int skiff_setresgid(gid_t r, gid_t e, gid_t s);
int skiff_pipe2(int fds[2], int flags);
int skiff_accept4(int fd, int flags);
extern const int SKIFF_O_PATH, SKIFF_AT_EMPTY_PATH;
extern const unsigned long SKIFF_ST_NOSUID, SKIFF_ST_NODEV, SKIFF_ST_NOEXEC, SKIFF_ST_NOATIME,
    SKIFF_ST_NODIRATIME, SKIFF_ST_RELATIME;

// signalfd: a close-on-exec fd for the signals in `set`; read one signal number (or -1).
#include <signal.h>
int skiff_signalfd(const sigset_t *set);
int skiff_signalfd_read(int fd);

// Every signal to SIG_DFL and an empty mask, with raw syscalls: glibc's signal() and
// sigprocmask() refuse signals 32 and 33 (its own), which a caller may have set to ignored.
void skiff_reset_signals(void);

// Variadic wrappers.
int skiff_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
int skiff_ioctl_int(int fd, unsigned long request, int arg);
int skiff_ioctl_ptr(int fd, unsigned long request, void *arg);
int skiff_fcntl_int(int fd, int cmd, int arg);
int skiff_open(const char *path, int flags, unsigned int mode);
int skiff_openat(int dirfd, const char *path, int flags, unsigned int mode);

// fork without glibc's atfork handlers: skiff is single-threaded, and the child only runs
// skiff's own setup code before execve or _exit.
pid_t skiff_fork(void);
// fork whose child is a child of the caller's parent (CLONE_PARENT): the container's init and
// exec'd processes are children of the skiff process that waits for them.
pid_t skiff_fork_sibling(void);
// fork whose child starts in a new user namespace (clone CLONE_NEWUSER): the holder of an
// idmapped mount's mapping while the parent writes its maps.
pid_t skiff_fork_userns(void);
/* clone3 with CLONE_INTO_CGROUP: fork straight into the cgroup v2 directory cgroup_fd
 * (-1 with errno ENOSYS, E2BIG, EINVAL... where the kernel cannot). */
pid_t skiff_fork_into_cgroup(int cgroup_fd);

// Wait status macros.
int skiff_wifexited(int status);
int skiff_wexitstatus(int status);
int skiff_wifsignaled(int status);
int skiff_wtermsig(int status);

// Send / receive one fd over a unix socket (SCM_RIGHTS) with a small payload.
int skiff_send_fd(int sock, int fd, const void *data, size_t len);
int skiff_recv_fd(int sock, int *fd_out, void *data, size_t len);

// statfs(2) f_type of a path (the filesystem's magic number), or -1.
long skiff_fs_magic(const char *path);
// fstatfs(2) f_type of an open file (O_PATH fds too), or -1.
long skiff_fd_fs_magic(int fd);

// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file `fd` refers to. Returns only on error.
int skiff_execveat_fd(int fd, char *const argv[], char *const envp[]);
// The environment of the process (glibc's `environ`).
char **skiff_environ(void);

// Device numbers.
uint64_t skiff_makedev(uint32_t major, uint32_t minor);
uint32_t skiff_major(uint64_t dev);
uint32_t skiff_minor(uint64_t dev);

// cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program (insns are struct bpf_insn,
// 8 bytes each) loaded and attached to a cgroup directory fd with BPF_F_ALLOW_MULTI.
// Returns the program fd, or -1 (errno set; log, if given, gets the verifier's text).
int skiff_bpf_load_device_filter(const void *insns, unsigned int count, char *log, unsigned int log_size);
int skiff_bpf_attach_device_filter(int cgroup_fd, int prog_fd);
// The ids of device programs attached to a cgroup; returns how many (up to max), or -1.
int skiff_bpf_query_device_filters(int cgroup_fd, uint32_t *ids, unsigned int max);
// Detaches the device program with this id from the cgroup.
int skiff_bpf_detach_device_filter(int cgroup_fd, uint32_t prog_id);

// eventfd (close-on-exec) and inotify (close-on-exec), for cgroup OOM notifications.
int skiff_eventfd(void);
int skiff_inotify_init(void);
int skiff_inotify_add_watch(int fd, const char *path, uint32_t mask);
extern const uint32_t SKIFF_IN_MODIFY;

// Process scheduling: sched_setattr(2) (policy, nice, priority, deadline parameters, flags),
// ioprio_set(2) for the calling process, personality(2), set_mempolicy(2) and
// sched_setaffinity(2) from a list of CPU numbers.
int skiff_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                        uint64_t runtime, uint64_t deadline, uint64_t period);
int skiff_ioprio_set_self(int ioclass, int level);
int skiff_personality(unsigned long persona);
int skiff_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode);
int skiff_set_affinity(const int *cpus, int count);

// Moves host interface `name` into the network namespace `nsfd`, renamed to `newname` (NULL or
// "" keeps the name; "%d" is a template), brings it up there and gives it back its permanent
// global addresses. 0, or -errno with `step`: 1 lookup, 2 addresses, 3 move, 4 enter the
// namespace, 5 up, 6 addresses. `final_name` receives the name in the container.
int skiff_netdev_move(const char *name, int nsfd, const char *newname, int *step, char *final_name, size_t final_len);
int skiff_if_exists(const char *name);

// Constants that are macros or enum values Swift does not import reliably.
extern const unsigned long SKIFF_MS_RDONLY, SKIFF_MS_NOSUID, SKIFF_MS_NODEV, SKIFF_MS_NOEXEC,
    SKIFF_MS_SYNCHRONOUS, SKIFF_MS_REMOUNT, SKIFF_MS_MANDLOCK, SKIFF_MS_DIRSYNC, SKIFF_MS_NOATIME,
    SKIFF_MS_NODIRATIME, SKIFF_MS_BIND, SKIFF_MS_MOVE, SKIFF_MS_REC, SKIFF_MS_SILENT,
    SKIFF_MS_UNBINDABLE, SKIFF_MS_PRIVATE, SKIFF_MS_SLAVE, SKIFF_MS_SHARED, SKIFF_MS_RELATIME,
    SKIFF_MS_STRICTATIME, SKIFF_MS_LAZYTIME, SKIFF_MNT_DETACH;
extern const int SKIFF_CLONE_NEWNS, SKIFF_CLONE_NEWUTS, SKIFF_CLONE_NEWIPC, SKIFF_CLONE_NEWUSER,
    SKIFF_CLONE_NEWPID, SKIFF_CLONE_NEWNET, SKIFF_CLONE_NEWCGROUP, SKIFF_CLONE_NEWTIME;
extern const uint64_t SKIFF_MOUNT_ATTR_RDONLY, SKIFF_MOUNT_ATTR_NOSUID, SKIFF_MOUNT_ATTR_NODEV,
    SKIFF_MOUNT_ATTR_NOEXEC, SKIFF_MOUNT_ATTR__ATIME, SKIFF_MOUNT_ATTR_RELATIME,
    SKIFF_MOUNT_ATTR_NOATIME, SKIFF_MOUNT_ATTR_STRICTATIME, SKIFF_MOUNT_ATTR_NODIRATIME,
    SKIFF_MOUNT_ATTR_NOSYMFOLLOW;
extern const unsigned int SKIFF_AT_RECURSIVE, SKIFF_OPEN_TREE_CLONE, SKIFF_MOVE_MOUNT_F_EMPTY_PATH,
    SKIFF_MOVE_MOUNT_T_EMPTY_PATH;
extern const uint64_t SKIFF_MOUNT_ATTR_IDMAP;
extern const uint64_t SKIFF_RESOLVE_IN_ROOT, SKIFF_RESOLVE_NO_MAGICLINKS, SKIFF_RESOLVE_NO_SYMLINKS,
    SKIFF_RESOLVE_BENEATH, SKIFF_RESOLVE_NO_XDEV;
extern const unsigned long SKIFF_TIOCSCTTY, SKIFF_TIOCGWINSZ, SKIFF_TIOCSWINSZ, SKIFF_TIOCGPTPEER;
extern const int SKIFF_PR_SET_NO_NEW_PRIVS, SKIFF_PR_SET_CHILD_SUBREAPER, SKIFF_PR_SET_PDEATHSIG,
    SKIFF_PR_SET_DUMPABLE, SKIFF_PR_SET_KEEPCAPS, SKIFF_PR_SET_NAME;

#endif
