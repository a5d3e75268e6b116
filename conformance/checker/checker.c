/*
 * checker: runs inside a container under test and reports what it observes.
 *
 * Built with `gcc -static -O2` and copied into each bundle's rootfs as /checker. It makes no
 * judgement: it prints one observation per line, "KEY VALUE...", and the runner
 * (conformance/lib/conform.py) compares the observations with the config.json it wrote.
 * Values that may hold spaces, newlines or backslashes are escaped (\n, \t, \\, \s for space
 * is NOT used: a value runs to the end of the line; only \n, \t and \\ are escaped).
 *
 * usage: checker [ACTION...]          no action: the same as --report
 *   --report          the full report (identity, caps, namespaces, mounts, limits, /dev ...)
 *   --path P          stat P: type, mode, owner, device numbers, access(2), entries / bytes read
 *   --cat P           the content of file P (escaped, at most 64 KiB)
 *   --sysctl NAME     the value of /proc/sys/NAME (dots become slashes)
 *   --write P         try to create and write file P: "write P ok" or "write P err ERRNONAME"
 *   --open P FLAGS    try open(2) with FLAGS r|w|rw (non-blocking): "open P ok|err ERRNO"
 *   --syscall NAME    make one probe syscall (getppid, getpriority-pgrp, getpriority-process,
 *                     uname): "syscall NAME RET errno=E"
 *   --print TEXT      print "print TEXT" (a marker, flushed at once)
 *   --sleep SECONDS   sleep (to keep the container running)
 *   --exit N          exit with status N now
 *   --                the remaining arguments are not actions (they are in the report's args)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EBUSY: return "EBUSY";
	case ENOSYS: return "ENOSYS";
	case ENOMSG: return "ENOMSG";
	case EAGAIN: return "EAGAIN";
	case EIO: return "EIO";
	case ELOOP: return "ELOOP";
	default: {
		static char buf[32];
		snprintf(buf, sizeof buf, "E%d", e);
		return buf;
	}
	}
}

/* Print s escaped: \n, \t and backslash; other control bytes as \xHH. */
static void put_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void kv_escaped(const char *key, const char *val)
{
	printf("%s ", key);
	put_escaped(val, strlen(val));
	putchar('\n');
}

/* Read at most max bytes of a file; returns the length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t max)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n < max) {
		ssize_t r = read(fd, buf + n, max - n);
		if (r < 0) {
			int e = errno;
			close(fd);
			return n ? (ssize_t)n : -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return (ssize_t)n;
}

/* Print every line of a file as "KEY LINE". */
static void file_lines(const char *key, const char *path)
{
	static char buf[1 << 18];
	ssize_t n = read_file(path, buf, sizeof buf - 1);
	if (n < 0) {
		printf("%s.error %s\n", key, errname((int)-n));
		return;
	}
	buf[n] = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		kv_escaped(key, line);
}

static void report_ids(void)
{
	printf("pid %d\n", (int)getpid());
	printf("ppid %d\n", (int)getppid());
	printf("uid %u\neuid %u\ngid %u\negid %u\n", getuid(), geteuid(), getgid(), getegid());
	gid_t groups[256];
	int n = getgroups(256, groups);
	printf("groups");
	for (int i = 0; i < n; i++)
		printf(" %u", groups[i]);
	putchar('\n');
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd))
		kv_escaped("cwd", cwd);
	else
		printf("cwd.error %s\n", errname(errno));
}

static void report_args(int argc, char **argv)
{
	printf("argc %d\n", argc);
	for (int i = 0; i < argc; i++)
		kv_escaped("arg", argv[i]);
}

static void report_env(void)
{
	for (char **e = environ; *e; e++)
		kv_escaped("env", *e);
}

/* The interesting lines of /proc/self/status, as "status.Name value". */
static void report_status(void)
{
	static const char *want[] = {"Uid", "Gid", "Groups", "Umask", "CapInh", "CapPrm", "CapEff", "CapBnd",
				     "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters", "Cpus_allowed_list",
				     "Mems_allowed_list", NULL};
	static char buf[1 << 16];
	ssize_t n = read_file("/proc/self/status", buf, sizeof buf - 1);
	if (n < 0) {
		printf("status.error %s\n", errname((int)-n));
		return;
	}
	buf[n] = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		for (int i = 0; want[i]; i++) {
			if (strcmp(line, want[i]) == 0) {
				char *v = colon + 1;
				while (*v == ' ' || *v == '\t')
					v++;
				for (char *t = v; *t; t++)
					if (*t == '\t')
						*t = ' ';
				printf("status.%s %s\n", line, v);
			}
		}
	}
}

static void report_rlimits(void)
{
	static const struct {
		const char *name;
		int res;
	} lims[] = {
		{"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
		{"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
		{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
		{"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
		{"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
		{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}, {NULL, 0},
	};
	for (int i = 0; lims[i].name; i++) {
		struct rlimit rl;
		if (getrlimit(lims[i].res, &rl) != 0) {
			printf("rlimit %s error %s\n", lims[i].name, errname(errno));
			continue;
		}
		printf("rlimit %s ", lims[i].name);
		if (rl.rlim_cur == RLIM_INFINITY)
			printf("unlimited ");
		else
			printf("%llu ", (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			printf("unlimited\n");
		else
			printf("%llu\n", (unsigned long long)rl.rlim_max);
	}
}

static void report_namespaces(void)
{
	static const char *types[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
				      "time_for_children", "user", "uts", NULL};
	for (int i = 0; types[i]; i++) {
		char path[64], target[128];
		snprintf(path, sizeof path, "/proc/self/ns/%s", types[i]);
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n < 0) {
			printf("ns %s error %s\n", types[i], errname(errno));
			continue;
		}
		target[n] = 0;
		printf("ns %s %s\n", types[i], target);
	}
}

static void report_uts(void)
{
	struct utsname u;
	if (uname(&u) == 0) {
		kv_escaped("hostname", u.nodename);
		kv_escaped("domainname", u.domainname);
	}
}

static void report_proc_misc(void)
{
	char buf[256];
	ssize_t n = read_file("/proc/self/oom_score_adj", buf, sizeof buf - 1);
	if (n >= 0) {
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("oom_score_adj %s\n", buf);
	}
	printf("personality 0x%x\n", (unsigned)personality(0xffffffff));
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	printf("nice %d\n", errno ? -1000 : nice);
	long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
	if (io >= 0)
		printf("ioprio class=%ld level=%ld\n", (io >> 13) & 0x7, io & 0x1fff);
	int pol = sched_getscheduler(0);
	printf("sched.policy %d\n", pol);
	mode_t m = umask(0);
	umask(m);
	printf("umask %04o\n", (unsigned)m);
	file_lines("uid_map", "/proc/self/uid_map");
	file_lines("gid_map", "/proc/self/gid_map");
	file_lines("setgroups", "/proc/self/setgroups");
	file_lines("cgroup", "/proc/self/cgroup");
	file_lines("timens_offsets", "/proc/self/timens_offsets");
	for (int fd = 0; fd < 3; fd++) {
		struct winsize ws;
		int tty = isatty(fd);
		printf("tty %d %d", fd, tty);
		if (tty && ioctl(fd, TIOCGWINSZ, &ws) == 0)
			printf(" rows=%u cols=%u", ws.ws_row, ws.ws_col);
		putchar('\n');
	}
}

/* Open file descriptors (the one used to list them excluded). */
static void report_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		printf("fds.error %s\n", errname(errno));
		return;
	}
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == self)
			continue;
		char path[64], target[PATH_MAX];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof target - 1);
		target[n < 0 ? 0 : n] = 0;
		printf("fd %d ", fd);
		put_escaped(target, strlen(target));
		putchar('\n');
	}
	closedir(d);
}

/*
 * /proc/self/mountinfo as "mount MOUNTPOINT FSTYPE SOURCE MOUNTOPTS SUPEROPTS PROPAGATION", where
 * PROPAGATION is the optional fields joined with "," or "private" when there are none. Mount
 * points keep mountinfo's octal escapes (\040 for a space).
 */
static void report_mounts(void)
{
	static char buf[1 << 18];
	ssize_t n = read_file("/proc/self/mountinfo", buf, sizeof buf - 1);
	if (n < 0) {
		printf("mount.error %s\n", errname((int)-n));
		return;
	}
	buf[n] = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[64];
		int nf = 0;
		char *s2 = NULL;
		for (char *t = strtok_r(line, " ", &s2); t && nf < 64; t = strtok_r(NULL, " ", &s2))
			f[nf++] = t;
		if (nf < 10)
			continue;
		int dash = -1;
		for (int i = 6; i < nf; i++)
			if (strcmp(f[i], "-") == 0) {
				dash = i;
				break;
			}
		if (dash < 0 || dash + 3 >= nf)
			continue;
		char prop[256] = "";
		for (int i = 6; i < dash; i++) {
			if (prop[0])
				strncat(prop, ",", sizeof prop - strlen(prop) - 1);
			strncat(prop, f[i], sizeof prop - strlen(prop) - 1);
		}
		printf("mount %s %s %s %s %s %s\n", f[4], f[dash + 1], f[dash + 2], f[5], f[dash + 3],
		       prop[0] ? prop : "private");
	}
	struct statvfs sv;
	if (statvfs("/", &sv) == 0)
		printf("root.readonly %d\n", (sv.f_flag & ST_RDONLY) ? 1 : 0);
}

static void list_dev(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(path, target, sizeof target - 1);
			target[n < 0 ? 0 : n] = 0;
			printf("dev %s l %s\n", path, target);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			printf("dev %s %c %u:%u %04o %u %u\n", path, S_ISCHR(st.st_mode) ? 'c' : 'b', major(st.st_rdev),
			       minor(st.st_rdev), (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid);
		} else {
			printf("dev %s %c - %04o %u %u\n", path, S_ISDIR(st.st_mode) ? 'd' : (S_ISREG(st.st_mode) ? 'f' : 'o'),
			       (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid);
		}
	}
	closedir(d);
}

static void report(int argc, char **argv)
{
	report_args(argc, argv);
	report_ids();
	report_env();
	report_status();
	report_rlimits();
	report_namespaces();
	report_uts();
	report_proc_misc();
	report_fds();
	report_mounts();
	list_dev("/dev");
}

/* "path P exists=1 type=c mode=0666 uid=0 gid=0 rdev=1:3 size=0 r=ok w=EROFS readonly=1 entries=N bytes=N" */
static void probe_path(const char *p)
{
	struct stat st;
	printf("path ");
	put_escaped(p, strlen(p));
	if (lstat(p, &st) != 0) {
		printf(" exists=0 error=%s\n", errname(errno));
		return;
	}
	char type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISLNK(st.st_mode) ? 'l' : 'o';
	printf(" exists=1 type=%c mode=%04o uid=%u gid=%u rdev=%u:%u size=%lld", type, (unsigned)(st.st_mode & 07777), st.st_uid,
	       st.st_gid, major(st.st_rdev), minor(st.st_rdev), (long long)st.st_size);
	printf(" r=%s", access(p, R_OK) == 0 ? "ok" : errname(errno));
	printf(" w=%s", access(p, W_OK) == 0 ? "ok" : errname(errno));
	struct statvfs sv;
	if (statvfs(p, &sv) == 0)
		printf(" readonly=%d", (sv.f_flag & ST_RDONLY) ? 1 : 0);
	if (type == 'd') {
		DIR *d = opendir(p);
		int n = 0;
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					n++;
			closedir(d);
			printf(" entries=%d", n);
		} else {
			printf(" entries=%s", errname(errno));
		}
	} else if (type == 'f' || (type == 'c' && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)) {
		static char buf[1 << 16];
		ssize_t n = read_file(p, buf, sizeof buf);
		if (n < 0)
			printf(" bytes=%s", errname((int)-n));
		else
			printf(" bytes=%zd", n);
	}
	putchar('\n');
}

static void cat(const char *p)
{
	static char buf[1 << 16];
	ssize_t n = read_file(p, buf, sizeof buf);
	printf("cat ");
	put_escaped(p, strlen(p));
	if (n < 0)
		printf(" error=%s\n", errname((int)-n));
	else {
		putchar(' ');
		put_escaped(buf, (size_t)n);
		putchar('\n');
	}
}

static void sysctl(const char *name)
{
	char path[PATH_MAX] = "/proc/sys/";
	size_t off = strlen(path);
	for (size_t i = 0; name[i] && off < sizeof path - 1; i++)
		path[off++] = name[i] == '.' ? '/' : name[i];
	path[off] = 0;
	char buf[4096];
	ssize_t n = read_file(path, buf, sizeof buf - 1);
	printf("sysctl %s ", name);
	if (n < 0) {
		printf("error=%s\n", errname((int)-n));
		return;
	}
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	put_escaped(buf, (size_t)n);
	putchar('\n');
}

static void try_write(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	printf("write ");
	put_escaped(p, strlen(p));
	if (fd < 0) {
		printf(" err %s\n", errname(errno));
		return;
	}
	ssize_t w = write(fd, "x\n", 2);
	int e = errno;
	close(fd);
	if (w != 2)
		printf(" err %s\n", errname(e));
	else
		printf(" ok\n");
}

static void try_open(const char *p, const char *how)
{
	int flags = strcmp(how, "w") == 0 ? O_WRONLY : strcmp(how, "rw") == 0 ? O_RDWR : O_RDONLY;
	int fd = open(p, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	printf("open ");
	put_escaped(p, strlen(p));
	if (fd < 0) {
		printf(" %s err %s\n", how, errname(errno));
		return;
	}
	close(fd);
	printf(" %s ok\n", how);
}

static void probe_syscall(const char *name)
{
	long r;
	errno = 0;
	if (strcmp(name, "getppid") == 0)
		r = syscall(SYS_getppid);
	else if (strcmp(name, "getpriority-pgrp") == 0)
		r = syscall(SYS_getpriority, PRIO_PGRP, 0);
	else if (strcmp(name, "getpriority-process") == 0)
		r = syscall(SYS_getpriority, PRIO_PROCESS, 0);
	else if (strcmp(name, "uname") == 0) {
		struct utsname u;
		r = syscall(SYS_uname, &u);
	} else {
		printf("syscall %s unknown\n", name);
		return;
	}
	int e = r < 0 ? errno : 0;
	printf("syscall %s %ld errno=%s\n", name, r < 0 ? -1L : 0L, errname(e));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (argc == 1) {
		report(argc, argv);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--") == 0)
			break; /* the rest: arguments to report, not actions */
		if (strcmp(a, "--report") == 0) {
			report(argc, argv);
			continue;
		}
		if (!v) {
			fprintf(stderr, "checker: %s needs a value\n", a);
			return 64;
		}
		i++;
		if (strcmp(a, "--path") == 0)
			probe_path(v);
		else if (strcmp(a, "--cat") == 0)
			cat(v);
		else if (strcmp(a, "--sysctl") == 0)
			sysctl(v);
		else if (strcmp(a, "--write") == 0)
			try_write(v);
		else if (strcmp(a, "--open") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "checker: --open needs PATH FLAGS\n");
				return 64;
			}
			try_open(v, argv[++i]);
		} else if (strcmp(a, "--syscall") == 0) {
			fflush(stdout);
			probe_syscall(v);
		} else if (strcmp(a, "--print") == 0) {
			kv_escaped("print", v);
			fflush(stdout);
		} else if (strcmp(a, "--sleep") == 0) {
			fflush(stdout);
			sleep((unsigned)atoi(v));
		} else if (strcmp(a, "--exit") == 0) {
			fflush(stdout);
			return atoi(v);
		} else {
			fprintf(stderr, "checker: unknown action %s\n", a);
			return 64;
		}
	}
	fflush(stdout);
	return 0;
}
