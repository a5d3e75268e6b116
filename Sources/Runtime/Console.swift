import CSkiff
import Glibc
import LinuxSys
import OCISpec

/// `process.terminal`: a pty made inside the container (from its own devpts instance), its
/// slave as the process's stdio and controlling terminal, and its master handed over a unix
/// socket with SCM_RIGHTS (runc's `--console-socket` protocol, spoken by containerd, conmon and
/// dockerd's shim), or relayed by skiff itself for a foreground `run`/`exec`.
enum Console {
    struct Pty {
        let master: Int32
        let slave: Int32
        let name: String
    }

    /// Connects to the `--console-socket` (in the parent, before any namespace is entered).
    static func connect(_ path: String) throws -> Int32 {
        let s = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            _ = try StartSocket.withAddress(path) { addr, len in
                try sys("connect to --console-socket \(q(path))") { Glibc.connect(s, addr, len) }
            }
        } catch {
            close(s)
            throw RuntimeError("\(error)")
        }
        return s
    }

    /// Opens a new pty through `ptmxFD`-relative or absolute path `ptmx`. The slave comes from
    /// TIOCGPTPEER, never from a path lookup in /dev/pts, which the container could swap.
    static func open(dirFD: Int32, ptmx: String, size: ConsoleSize?) throws -> Pty {
        let master = skiff_openat2(dirFD, ptmx, UInt64(O_RDWR | O_NOCTTY | O_CLOEXEC), 0, SKIFF_RESOLVE_IN_ROOT)
        if master < 0 { throw SysError("process.terminal: open the container's /dev/ptmx (is devpts mounted at /dev/pts?)") }
        var unlock: Int32 = 0
        if skiff_ioctl_ptr(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) != 0 {
            close(master)
            throw SysError("process.terminal: unlock the pty")
        }
        let slave = skiff_ioctl_int(master, SKIFF_TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)
        if slave < 0 {
            close(master)
            throw SysError("process.terminal: open the pty's slave")
        }
        var n: UInt32 = 0
        _ = skiff_ioctl_ptr(master, 0x8004_5430 /* TIOCGPTN */, &n)
        if let size { setSize(slave, rows: UInt16(clamping: size.height), cols: UInt16(clamping: size.width)) }
        return Pty(master: master, slave: slave, name: "/dev/pts/\(n)")
    }

    static func setSize(_ fd: Int32, rows: UInt16, cols: UInt16) {
        var ws = winsize(ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0)
        _ = skiff_ioctl_ptr(fd, SKIFF_TIOCSWINSZ, &ws)
    }

    /// Sends the master to the console socket, with the pty's name as payload (as runc does).
    static func send(master: Int32, name: String, over socket: Int32) throws {
        let bytes = Array(name.utf8)
        if skiff_send_fd(socket, master, bytes, bytes.count) != 0 {
            throw SysError("process.terminal: send the pty master over --console-socket")
        }
    }

    /// Makes the slave the process's stdio and controlling terminal.
    static func attach(slave: Int32) throws {
        for fd: Int32 in 0...2 where dup2(slave, fd) < 0 { throw SysError("process.terminal: dup2 the pty onto fd \(fd)") }
        if slave > 2 { close(slave) }
        if skiff_ioctl_int(0, SKIFF_TIOCSCTTY, 0) != 0 { throw SysError("process.terminal: make the pty the controlling terminal") }
    }
}

/// A foreground `run` or `exec` with a terminal and no `--console-socket`: skiff relays between
/// its own terminal (in raw mode) and the pty master, passes window size changes on, forwards
/// signals, and restores the terminal when the process exits.
public enum TerminalRelay {
    public static func run(master: Int32, pid: pid_t) -> Int32 {
        var saved = termios()
        let isTTY = isatty(0) == 1
        if isTTY {
            tcgetattr(0, &saved)
            var raw = saved
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
            copyWindowSize(to: master)
        }
        defer { if isTTY { tcsetattr(0, TCSANOW, &saved) } }

        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGCHLD, SIGWINCH, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2] { sigaddset(&set, s) }
        sigprocmask(SIG_BLOCK, &set, nil)
        defer { sigprocmask(SIG_UNBLOCK, &set, nil) }
        let sfd = skiff_signalfd(&set)
        defer { close(sfd) }

        var stdinOpen = true
        var status: Int32? = nil
        var buf = [UInt8](repeating: 0, count: 32768)
        while true {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: sfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            // Once the process is gone, drain what is left of its output and stop.
            if poll(&fds, 3, status == nil ? -1 : 50) < 0 { if errno == EINTR { continue }; break }
            if fds[0].revents != 0 {
                let n = read(master, &buf, buf.count)
                if n > 0 { _ = try? Files.writeAll(fd: 1, Array(buf[0..<n])) } else if status != nil { break }
            } else if status != nil {
                break
            }
            if fds[2].revents != 0 {
                let n = read(0, &buf, buf.count)
                if n > 0 { _ = try? Files.writeAll(fd: master, Array(buf[0..<n])) } else { stdinOpen = false }
            }
            if fds[1].revents != 0 {
                let sig = skiff_signalfd_read(sfd)
                if sig < 0 { continue }
                if sig == SIGWINCH { copyWindowSize(to: master); continue }
                if sig != SIGCHLD { kill(pid, sig); continue }
                var st: Int32 = 0
                while true {
                    let r = waitpid(-1, &st, WNOHANG)
                    if r <= 0 { break }
                    if r == pid { status = skiff_wifsignaled(st) != 0 ? 128 + skiff_wtermsig(st) : skiff_wexitstatus(st) }
                }
            }
        }
        return status ?? Container.waitForeground(pid: pid)
    }

    static func copyWindowSize(to fd: Int32) {
        var ws = winsize()
        if skiff_ioctl_ptr(0, SKIFF_TIOCGWINSZ, &ws) == 0 { _ = skiff_ioctl_ptr(fd, SKIFF_TIOCSWINSZ, &ws) }
    }
}
