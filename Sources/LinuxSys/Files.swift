import CSkiff
import Glibc

/// File helpers. Every fd skiff opens is O_CLOEXEC, so nothing leaks into a container by exec.
public enum Files {
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        try sys("open \(q(path))") { skiff_open(path, flags | O_CLOEXEC, UInt32(mode)) }
    }

    public static func readAll(fd: Int32, limit: Int = 64 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw SysError("read") }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw SysError("read: file larger than \(limit) bytes", errno: EFBIG) }
        }
        return out
    }

    public static func read(_ path: String, limit: Int = 64 << 20) throws -> String {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        do {
            return String(decoding: try readAll(fd: fd, limit: limit), as: UTF8.self)
        } catch let e as SysError {
            throw SysError("read \(q(path))", errno: e.errno)
        }
    }

    /// Nil when the file does not exist or cannot be read.
    public static func readIfPresent(_ path: String) -> String? { try? read(path) }

    public static func writeAll(fd: Int32, _ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 { if errno == EINTR { continue }; throw SysError("write") }
            off += n
        }
    }

    public static func writeAll(fd: Int32, _ s: String) throws { try writeAll(fd: fd, Array(s.utf8)) }

    /// Writes a file (truncating); for /proc and cgroup files, one write(2) call.
    public static func write(_ path: String, _ contents: String, flags: Int32 = O_WRONLY | O_TRUNC | O_CREAT, mode: mode_t = 0o644) throws {
        let fd = try open(path, flags, mode: mode)
        defer { close(fd) }
        do { try writeAll(fd: fd, contents) } catch let e as SysError {
            throw SysError("write \(q(path))", errno: e.errno)
        }
    }

    /// Writes a file atomically: a temporary file in the same directory, then rename(2), so a
    /// reader sees the old or the new content, never half of it.
    public static func writeAtomic(_ path: String, _ contents: String, mode: mode_t = 0o600) throws {
        let tmp = path + ".tmp\(getpid())"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, mode: mode)
        do {
            defer { close(fd) }
            try writeAll(fd: fd, contents)
        } catch {
            unlink(tmp)
            throw error
        }
        do { try sys("rename \(q(tmp)) to \(q(path))") { rename(tmp, path) } } catch {
            unlink(tmp)
            throw error
        }
    }

    public static func exists(_ path: String) -> Bool {
        var st = Glibc.stat()
        return Glibc.lstat(path, &st) == 0
    }

    public static func stat(_ path: String) -> stat? {
        var st = Glibc.stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 ? st : nil
    }

    public static func lstat(_ path: String) -> stat? {
        var st = Glibc.stat()
        return Glibc.lstat(path, &st) == 0 ? st : nil
    }

    public static func isDirectory(_ path: String) -> Bool {
        guard let st = Files.stat(path) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    /// mkdir -p. Existing directories are fine; an existing non-directory is an error.
    public static func mkdirAll(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        let parent = dirname(path)
        if parent != path && !parent.isEmpty { try mkdirAll(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SysError("mkdir \(q(path))") }
    }

    public static func dirname(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        if slash == p.startIndex { return "/" }
        return String(p[..<slash])
    }

    public static func basename(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return p }
        return String(p[p.index(after: slash)...])
    }

    /// Names in a directory, without "." and "..".
    public static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// rm -rf that does not cross into other mounts and does not follow symlinks.
    public static func removeTree(_ path: String) throws {
        guard let st = Files.lstat(path) else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw SysError("remove \(q(path))") }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw SysError("remove \(q(path))")
        }
    }

    /// Absolute, lexically cleaned path ("a/../b" -> "/cwd/b"), without touching the filesystem.
    public static func absolute(_ path: String) -> String {
        var base = path
        if !path.hasPrefix("/") {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let cwd = getcwd(&buf, buf.count).map { String(cString: $0) } ?? "/"
            base = cwd + "/" + path
        }
        return clean(base)
    }

    public static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// "a directory", "a regular file", ... for a stat mode (error messages).
    public static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFREG: return "a regular file"
        case S_IFLNK: return "a symlink"
        case S_IFCHR: return "another character device"
        case S_IFBLK: return "another block device"
        case S_IFIFO: return "a fifo"
        case S_IFSOCK: return "a socket"
        default: return "an unknown kind of file"
        }
    }
}
