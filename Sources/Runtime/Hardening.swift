import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// Defences against known container escapes of OCI runtimes that are not just "resolve paths
/// inside the rootfs" (Rootfs.resolve does that). Each one has an attack test in
/// Tests/integration/cve.bats, and a patch that removes it in Tests/integration/weakened/.
public enum Hardening {
    // MARK: - CVE-2019-5736: the runtime's binary overwritten through /proc/PID/exe

    /// skiff's processes that enter a container are forks of skiff, so until they execve the
    /// container's program, /proc/PID/exe names skiff's binary; and a container program that
    /// is `/proc/self/exe` (or a script with `#!/proc/self/exe`) makes the kernel run skiff's
    /// binary inside the container. A container process could open that file, wait for skiff to
    /// exit, and reopen it for writing through /proc/self/fd/N.
    ///
    /// So `create`, `run` and `exec` run from a read-only view of the binary: a detached bind
    /// mount of it (open_tree OPEN_TREE_CLONE, in no mount table), made read-only, then
    /// execveat of that. /proc/PID/exe then names a file on a read-only mount, and a reopen for
    /// writing fails with EROFS. No copy of the binary is made; nothing is left once the last
    /// process that runs it exits. If the binary already is on a read-only mount, nothing is done.
    public static func runFromReadOnlyView() {
        var s = statvfs()
        guard statvfs("/proc/self/exe", &s) == 0 else { return }
        if UInt(s.f_flag) & 1 /* ST_RDONLY */ != 0 { return }
        let tree = skiff_open_tree(AT_FDCWD, "/proc/self/exe", SKIFF_OPEN_TREE_CLONE | UInt32(O_CLOEXEC))
        guard tree >= 0 else {
            Log.warn("cannot run from a read-only view of the skiff binary (open_tree: \(SysError.text(errno))); a container could reach the binary through /proc/PID/exe (CVE-2019-5736)")
            return
        }
        let attrs = SKIFF_MOUNT_ATTR_RDONLY | SKIFF_MOUNT_ATTR_NOSUID | SKIFF_MOUNT_ATTR_NODEV
        if skiff_mount_setattr(tree, "", UInt32(SKIFF_AT_EMPTY_PATH), attrs, 0, 0, 0) == 0 {
            _ = skiff_execveat_fd(tree, CommandLine.unsafeArgv, skiff_environ())
        }
        Log.warn("cannot run from a read-only view of the skiff binary (\(SysError.text(errno))); a container could reach the binary through /proc/PID/exe (CVE-2019-5736)")
        close(tree)
    }

    /// Makes the calling process non-dumpable: processes of the container (same uid, but not
    /// CAP_SYS_PTRACE over skiff's user namespace) can then neither ptrace it nor open its
    /// /proc/PID/exe, /proc/PID/fd/N, /proc/PID/cwd or /proc/PID/root. Called first thing in
    /// every forked child that joins a container's namespaces; execve of the container's
    /// program makes it dumpable again, as for any program.
    static func hideFromContainer() {
        _ = skiff_prctl(SKIFF_PR_SET_DUMPABLE, 0, 0, 0, 0)
    }

    // MARK: - CVE-2024-21626: a host directory as the container's working directory

    /// After chdir(process.cwd): the directory must be under the process's root. A path such as
    /// /proc/self/fd/N names whatever skiff has open as fd N, which may be a directory of the
    /// host; getcwd(3) then fails with ENOENT (the kernel's "(unreachable)" prefix).
    static func checkCwdInsideRoot(_ cwd: String) throws {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let ok = getcwd(&buf, buf.count) != nil
        let e = errno
        if (ok && buf[0] == 0x2F /* "/" */) || (!ok && e != ENOENT) { return }
        throw RuntimeError("process.cwd: \(JSON.quoted(cwd)) leads outside the container's root filesystem (to a directory of the host that the runtime had open; CVE-2024-21626); give a directory inside the container")
    }

    // MARK: - CVE-2025-52881: writes to /proc redirected by mounts or symlinks

    static let procSuperMagic = 0x9fa0
    static let devptsSuperMagic = 0x1cd1

    /// Writes `value` to `/proc/<relative>`, checking that it lands where it should: /proc is
    /// the root of a procfs mount, the path is resolved without following any symlink and
    /// without crossing a mount (a bind mount or tmpfs over /proc/sys/..., or a symlink in one,
    /// could otherwise redirect the write to /proc/sys/kernel/core_pattern or a file of the
    /// attacker's), and the file opened is a procfs file. `what` names the config field.
    static func writeProc(_ relative: String, _ value: String, what: String, selfDir: Bool = false) throws {
        let root = skiff_open("/proc", SKIFF_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
        if root < 0 { throw ProcWriteError(what: what, path: "/proc", errno: errno) }
        defer { close(root) }
        var st = stat()
        guard skiff_fd_fs_magic(root) == procSuperMagic, fstat(root, &st) == 0, st.st_ino == 1 else {
            throw RuntimeError("\(what): /proc is not the root of a procfs mount; refusing to write to /proc/\(relative) through it (CVE-2025-52881)")
        }
        var base = root
        // /proc/self is procfs's own link to the caller's directory: followed once, then checked.
        if selfDir {
            base = skiff_openat(root, "self", SKIFF_O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
            if base < 0 { throw ProcWriteError(what: what, path: "/proc/self", errno: errno) }
        }
        defer { if base != root { close(base) } }
        let resolve = SKIFF_RESOLVE_NO_SYMLINKS | SKIFF_RESOLVE_NO_MAGICLINKS | SKIFF_RESOLVE_NO_XDEV | SKIFF_RESOLVE_BENEATH
        let shown = (selfDir ? "/proc/self/" : "/proc/") + relative
        let fd = skiff_openat2(base, relative, UInt64(O_WRONLY | O_NOCTTY | O_CLOEXEC), 0, resolve)
        if fd < 0 { throw ProcWriteError(what: what, path: shown, errno: errno) }
        defer { close(fd) }
        guard skiff_fd_fs_magic(fd) == procSuperMagic else {
            throw RuntimeError("\(what): \(shown) is not a procfs file; refusing to write to it (CVE-2025-52881)")
        }
        do { try Files.writeAll(fd: fd, value) } catch let e as SysError {
            throw ProcWriteError(what: what, path: shown, errno: e.errno)
        }
    }

    // MARK: - CVE-2025-52565: /dev/console and the pty

    /// The pty master must be a devpts multiplexer (major 5, minor 2) and the slave a devpts
    /// pty (majors 136 to 143): an image's /dev/ptmx may be anything.
    static func checkPty(master: Int32, slave: Int32) throws {
        var m = stat(), s = stat()
        guard fstat(master, &m) == 0, fstat(slave, &s) == 0 else { throw SysError("process.terminal: stat the pty") }
        let mdev = UInt64(m.st_rdev), sdev = UInt64(s.st_rdev)
        guard m.st_mode & S_IFMT == S_IFCHR, skiff_major(mdev) == 5, skiff_minor(mdev) == 2,
              s.st_mode & S_IFMT == S_IFCHR, (136...143).contains(skiff_major(sdev)),
              skiff_fd_fs_magic(slave) == devptsSuperMagic else {
            throw RuntimeError("process.terminal: the container's /dev/ptmx did not give a devpts pseudo-terminal; refusing to use it as the console (mount devpts at /dev/pts with ptmxmode, and /dev/ptmx -> pts/ptmx)")
        }
    }
}

/// A refused or failed write to /proc, with why in words.
struct ProcWriteError: Error, CustomStringConvertible {
    let what: String
    let path: String
    let errno: Int32

    var reason: String {
        switch errno {
        case ENOENT: return "no such file (or /proc is not mounted)"
        case ELOOP: return "a symbolic link is in the path; refusing to follow it (CVE-2025-52881)"
        case EXDEV: return "another mount covers part of the path; refusing to write through it (CVE-2025-52881)"
        default: return SysError.text(errno)
        }
    }

    var description: String { "\(what): cannot write \(JSON.quoted(path)): \(reason)" }
}
