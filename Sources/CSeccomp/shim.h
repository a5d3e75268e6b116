// CSeccomp: libseccomp plus the few C macros and raw syscalls that Swift cannot import
// (function-like macros, variadic syscall(2)). Everything here is static inline.
#ifndef SKIFF_CSECCOMP_SHIM_H
#define SKIFF_CSECCOMP_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

// The flags of seccomp(SECCOMP_SET_MODE_FILTER), in case the kernel headers are older.
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

// Actions (SCMP_ACT_ERRNO(x) and SCMP_ACT_TRACE(x) are function-like macros).
static inline uint32_t skiff_scmp_act_errno(uint32_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t skiff_scmp_act_trace(uint32_t v) { return SCMP_ACT_TRACE(v); }

// SCMP_FLTATR_CTL_WAITKILL exists from libseccomp 2.6.0 on; -1 when these headers lack it.
static inline int skiff_fltatr_ctl_waitkill(void) {
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
    return (int)SCMP_FLTATR_CTL_WAITKILL;
#else
    return -1;
#endif
}

// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): the new filter's notify fd with
// SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0; -1 and errno on failure.
static inline int skiff_seccomp_set_mode_filter(unsigned int flags, const struct sock_fprog *prog) {
    return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

// memfd_create(name, MFD_CLOEXEC) without relying on the libc wrapper being visible.
static inline int skiff_memfd_create_cloexec(const char *name) {
    return (int)syscall(__NR_memfd_create, name, 1U /* MFD_CLOEXEC */);
}

// SCM_RIGHTS control message helpers (CMSG_* are macros).
static inline size_t skiff_cmsg_space_fds(size_t n) { return CMSG_SPACE(n * sizeof(int)); }
static inline size_t skiff_cmsg_len_fds(size_t n) { return CMSG_LEN(n * sizeof(int)); }
static inline struct cmsghdr *skiff_cmsg_firsthdr(struct msghdr *m) { return CMSG_FIRSTHDR(m); }
static inline unsigned char *skiff_cmsg_data(struct cmsghdr *c) { return CMSG_DATA(c); }

#endif
