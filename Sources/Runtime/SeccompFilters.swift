import Glibc
import LinuxSys
import OCISpec
import Seccomp

/// The container's seccomp filter: compiled in the parent (so a bad profile is reported before
/// any process exists, with its JSON path), loaded by the container process just before it
/// execs; with SCMP_ACT_NOTIFY the listener fd goes to `listenerPath` with the state.
public enum SeccompFilters {
    /// Where compiled profiles are kept: the state directory (--root), set by the command line.
    public nonisolated(unsafe) static var cacheDir: String?

    /// Compiles `profile`, or takes the program compiled earlier from the same profile text
    /// (`raw`) by this binary, libseccomp and kernel. Compiling docker's default profile with
    /// libseccomp costs 34 M instructions (82 % of `run`); reading the cache about 0.2 M.
    static func compile(_ profile: Seccomp, path: String, raw: JSON?) throws -> SeccompProgram {
        let cache = raw.flatMap { Cache(dir: cacheDir, path: path, raw: $0) }
        var program: SeccompProgram
        if let cached = cache?.load() {
            program = cached
        } else {
            program = try SeccompProgram(profile, path: path)
            cache?.store(program)
        }
        if !program.skippedSyscalls.isEmpty {
            Log.debug("\(path): syscalls unknown to this libseccomp skipped: \(program.skippedSyscalls.joined(separator: ", "))")
        }
        return program
    }

    /// One compiled profile in `<root>/seccomp-<hash>.bpf` (a file: `list` only sees
    /// directories). The file starts with the whole key, compared byte for byte, so a hash
    /// collision or a changed binary, libseccomp or kernel is a miss, never a wrong filter.
    /// Written only after a successful compile, so every error is still reported.
    struct Cache {
        let file: String
        let key: String
        static let maxFiles = 32

        init?(dir: String?, path: String, raw: JSON) {
            guard let dir, let exe = Files.stat("/proc/self/exe") else { return nil }
            var u = utsname()
            uname(&u)
            let kernel = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                + " " + withUnsafeBytes(of: u.version) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            key = "skiff seccomp cache 1\n\(exe.st_dev) \(exe.st_ino) \(exe.st_size) \(exe.st_mtim.tv_sec).\(exe.st_mtim.tv_nsec)\n"
                + SeccompProgram.compilerVersion + "\n" + kernel + "\n" + path + "\n" + raw.serialized() + "\n"
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            let hex = String(h, radix: 16)
            file = dir + "/seccomp-" + String(repeating: "0", count: 16 - hex.utf8.count) + hex + ".bpf"
        }

        /// Only files that nobody but this user could have written: the state dir is trusted
        /// like state.json, but a --root that others may write to must not hand out filters.
        static func trusted(_ path: String) -> Bool {
            guard let st = Files.lstat(path) else { return false }
            return st.st_uid == geteuid() && st.st_mode & 0o022 == 0
        }

        func load() -> SeccompProgram? {
            guard Cache.trusted(Files.dirname(file)), Cache.trusted(file), var text = Files.readIfPresent(file) else { return nil }
            var k = key
            let n = k.utf8.count
            let same = text.withUTF8 { t in k.withUTF8 { kb in t.count >= n && memcmp(t.baseAddress!, kb.baseAddress!, n) == 0 } }
            guard same else { return nil }
            return SeccompProgram.fromCache(Substring(text.utf8.dropFirst(key.utf8.count)))
        }

        func store(_ program: SeccompProgram) {
            let dir = Files.dirname(file)
            guard Files.isDirectory(dir), Cache.trusted(dir) else { return }
            // A bound on what accumulates: past maxFiles profiles, start over.
            let old = Files.list(dir).filter { $0.hasPrefix("seccomp-") && $0.hasSuffix(".bpf") }
            if old.count >= Cache.maxFiles { for f in old { unlink(dir + "/" + f) } }
            try? Files.writeAtomic(file, key + program.cacheText, mode: 0o600)
        }
    }

    /// Hands a notify fd to the listener, from the parent (in the host's mount namespace).
    static func sendToListener(_ fd: Int32, profile: Seccomp, pid: Int32, state: JSON, ociVersion: String) throws {
        defer { close(fd) }
        guard let listener = profile.listenerPath else { return }
        let message = seccompContainerProcessState(ociVersion: ociVersion, pid: pid, metadata: profile.listenerMetadata, state: state)
        do { try sendSeccompListenerFD(fd, listenerPath: listener, stateJSON: message) } catch {
            throw RuntimeError("linux.seccomp.listenerPath: \(error)")
        }
    }

    /// A filter with SCMP_ACT_NOTIFY is loaded early, while the parent is still there to take
    /// the notify fd: `loadEarly` loads it and sends the fd over the sync channel.
    static func loadEarly(_ program: SeccompProgram, channel: SyncChannel) throws {
        let fd: Int32
        do { fd = try program.load() } catch { throw RuntimeError("linux.seccomp: \(error)") }
        if fd >= 0 {
            try channel.send(.seccompFD, fd: fd)
            close(fd)
        }
    }

    /// What the child needs at exec time.
    struct Loaded {
        let program: SeccompProgram
        let profile: Seccomp
        /// The container state, for the notify listener.
        let stateJSON: String
        let ociVersion: String

        func load() throws {
            if program.needsNotify { return } // loaded early, see loadEarly
            do { _ = try program.load() } catch { throw RuntimeError("linux.seccomp: \(error)") }
        }
    }
}
