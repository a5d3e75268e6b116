import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// The OCI status of a container (runtime.md "State").
public enum ContainerStatus: String {
    case creating, created, running, stopped, paused
}

/// What skiff remembers about a container, in `<root>/<id>/state.json`.
public struct ContainerState {
    public var ociVersion: String
    public var id: String
    /// The init process (host pid) and its start time from /proc/PID/stat, so a recycled pid
    /// is never mistaken for the container.
    public var pid: Int32
    public var startTime: UInt64
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var owner: String
    /// "created" until `start` ran the user program, then "running". Whether the process is
    /// still alive is checked on every read.
    public var phase: ContainerStatus
    public var annotations: [(String, String)]
    public var cgroupPath: String
    public var cgroupCreated: [String]
    /// With --systemd-cgroup: the scope unit systemd made for the container (delete stops it).
    public var systemdUnit: String?
    /// The config's hooks, kept for `start` (poststart) and `delete` (poststop), raw JSON.
    public var hooks: JSON?
    /// The config's process, raw JSON: the defaults of `exec`.
    public var process: JSON?
    /// The config's linux.seccomp, raw JSON: exec'd processes get the same filter.
    public var seccomp: JSON?
    /// process.terminal of the container.
    public var useTerminal: Bool

    public var status: ContainerStatus {
        if pid <= 0 { return phase == .creating ? .creating : .stopped }
        guard Proc.isAlive(pid, startTime: startTime) else { return .stopped }
        if phase == .running && cgroup.isFrozen { return .paused }
        return phase
    }

    /// The container's cgroup, as create made it.
    public var cgroup: Cgroup { Cgroup(path: cgroupPath.isEmpty ? "/" + id : cgroupPath, created: cgroupCreated) }

    /// The state as the spec (and runc's extras: rootfs, created, owner) defines it, for
    /// `state` and for the hooks' stdin.
    public func specState(status: ContainerStatus? = nil) -> JSON {
        let st = status ?? self.status
        return .obj([
            ("ociVersion", .string(ociVersion)),
            ("id", .string(id)),
            ("status", .string(st.rawValue)),
            ("pid", (st == .stopped) ? .int(0) : .int(pid)),
            ("bundle", .string(bundle)),
            ("rootfs", .string(rootfs)),
            ("created", .string(created)),
            ("owner", .string(owner)),
            ("annotations", annotations.isEmpty ? nil : .object(annotations.map { ($0.0, .string($0.1)) })),
        ])
    }

    /// What is needed to clean up comes first (pid, cgroup), so that a truncated file still
    /// tells `delete --force` what to kill and remove (`StateStore.salvage`).
    var json: JSON {
        .obj([
            ("pid", .int(pid)), ("startTime", .int(startTime)),
            ("cgroupPath", .string(cgroupPath)), ("cgroupCreated", .array(cgroupCreated.map { .string($0) })),
            ("systemdUnit", systemdUnit.map { .string($0) }),
            ("ociVersion", .string(ociVersion)), ("id", .string(id)),
            ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
            ("created", .string(created)), ("owner", .string(owner)), ("phase", .string(phase.rawValue)),
            ("annotations", .object(annotations.map { ($0.0, .string($0.1)) })),
            ("terminal", .bool(useTerminal)),
        ])
    }

    /// The parts of the config that only start, delete and exec need, kept out of state.json
    /// (see StateStore.specFile): with docker's seccomp profile they were 90 % of its 7 KB, and
    /// parsing them was most of what `state`, `kill` and `list` did.
    var specJSON: JSON {
        .obj([("hooks", hooks), ("process", process), ("seccomp", seccomp)])
    }

    init(from node: Node) throws {
        let o = try node.object()
        ociVersion = try o.string("ociVersion") ?? ""
        id = try o.requiredString("id")
        pid = try o.int("pid") ?? 0
        startTime = try o.int("startTime") ?? 0
        bundle = try o.string("bundle") ?? ""
        rootfs = try o.string("rootfs") ?? ""
        created = try o.string("created") ?? ""
        owner = try o.string("owner") ?? ""
        phase = ContainerStatus(rawValue: try o.string("phase") ?? "") ?? .stopped
        annotations = try o.stringMap("annotations") ?? []
        cgroupPath = try o.string("cgroupPath") ?? ""
        cgroupCreated = try o.strings("cgroupCreated") ?? []
        systemdUnit = try o.string("systemdUnit")
        hooks = o.optional("hooks")?.value
        process = o.optional("process")?.value
        seccomp = o.optional("seccomp")?.value
        useTerminal = try o.bool("terminal") ?? false
    }

    init(id: String, bundle: String, rootfs: String, ociVersion: String, annotations: [(String, String)]) {
        self.ociVersion = ociVersion
        self.id = id
        self.pid = 0
        self.startTime = 0
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = Clock.rfc3339()
        self.owner = Users.hostName(uid: getuid())
        self.phase = .creating
        self.annotations = annotations
        self.cgroupPath = ""
        self.cgroupCreated = []
        self.systemdUnit = nil
        self.hooks = nil
        self.process = nil
        self.seccomp = nil
        self.useTerminal = false
    }
}

/// The state directory (`--root`, default /run/skiff): one directory per container.
public struct StateStore {
    public let root: String

    public init(root: String) { self.root = root }

    public static let maxIDLength = 255

    /// Ids are file names: letters, digits and `_ + - .`, not "." or "..", at most 255 bytes.
    public static func validate(id: String) throws {
        if id.isEmpty { throw RuntimeError("container id is empty: give the container a name") }
        if id.utf8.count > maxIDLength {
            throw RuntimeError("container id is too long: \(id.utf8.count) characters, the limit is \(maxIDLength)")
        }
        if id == "." || id == ".." {
            throw RuntimeError("invalid container id \(JSON.quoted(id)): \".\" and \"..\" are not names")
        }
        for c in id.unicodeScalars {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "_+-.".unicodeScalars.contains(c)
            if !ok {
                let shown = c == "/" ? "\"/\"" : JSON.quoted(String(c))
                throw RuntimeError("invalid container id \(JSON.quoted(id)): \(shown) is not allowed (use letters, digits and _ + - .)")
            }
        }
    }

    public func dir(_ id: String) -> String { root + "/" + id }
    func stateFile(_ id: String) -> String { dir(id) + "/state.json" }
    /// hooks, process and linux.seccomp of the config, raw (ContainerState.specJSON).
    func specFile(_ id: String) -> String { dir(id) + "/spec.json" }

    /// Makes the container's directory; fails if the id is taken (atomic: mkdir).
    public func claim(_ id: String) throws {
        try StateStore.validate(id: id)
        do { try Files.mkdirAll(root, mode: 0o700) } catch let e as SysError {
            throw RuntimeError("cannot create the state directory \(q(root)): \(SysError.text(e.errno)) (set another with --root)")
        }
        if mkdir(dir(id), 0o711) != 0 {
            if errno == EEXIST { throw RuntimeError("container \(JSON.quoted(id)) already exists") }
            throw RuntimeError("cannot create \(q(dir(id))): \(SysError.text(errno))")
        }
    }

    public func exists(_ id: String) -> Bool { Files.isDirectory(dir(id)) }

    /// The state with the config's hooks, process and seccomp profile (for start, delete and
    /// exec). A state written by an older skiff has them inline.
    public func loadWithSpec(_ id: String) throws -> ContainerState {
        var s = try load(id)
        if s.hooks == nil && s.process == nil && s.seccomp == nil, let text = Files.readIfPresent(specFile(id)) {
            do {
                let o = try Node(try JSONParser.parse(text)).object()
                s.hooks = o.optional("hooks")?.value
                s.process = o.optional("process")?.value
                s.seccomp = o.optional("seccomp")?.value
            } catch {
                throw RuntimeError("state of container \(JSON.quoted(id)) in \(q(specFile(id))) is damaged (\(error)); remove it with `skiff delete --force \(id)`")
            }
        }
        return s
    }

    /// Writes spec.json (once, by create, before the first state.json).
    public func saveSpec(_ s: ContainerState) throws {
        do { try Files.writeAtomic(specFile(s.id), s.specJSON.serialized()) } catch let e as SysError {
            throw RuntimeError("cannot write the state of container \(JSON.quoted(s.id)): \(e)")
        }
    }

    /// The ids this process holds the lock of (a command that calls another operation on the
    /// same container, e.g. `start` destroying it after a failed hook, must not wait for itself).
    nonisolated(unsafe) static var held: [String: Int32] = [:]
    /// How long a command waits for another one working on the same container.
    nonisolated(unsafe) public static var lockTimeout: Int = 10

    /// Runs `body` holding the container's lock, `<root>/<id>/lock` (flock): commands on one
    /// container run one after another. The lock file goes with the directory on delete; a
    /// waiter that then gets it finds the container gone.
    public func locked<R>(_ id: String, _ command: String, _ body: () throws -> R) throws -> R {
        try StateStore.validate(id: id)
        let key = dir(id)
        if StateStore.held[key] != nil { return try body() }
        let fd = skiff_open(key + "/lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 {
            if errno == ENOENT { throw RuntimeError("container \(JSON.quoted(id)) does not exist") }
            throw RuntimeError("cannot open the lock of container \(JSON.quoted(id)) in \(q(key)): \(SysError.text(errno))")
        }
        let deadline = Clock.monotonicNanos() + UInt64(StateStore.lockTimeout) * 1_000_000_000
        var pause: UInt32 = 200
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let e = errno
                close(fd)
                throw RuntimeError("cannot lock container \(JSON.quoted(id)): \(SysError.text(e))")
            }
            if Clock.monotonicNanos() >= deadline {
                let holder = (try? Files.readAll(fd: fd, limit: 256)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                close(fd)
                let who = holder.split(separator: " ", maxSplits: 1)
                let what = who.count == 2 ? "`skiff \(who[1].trimmingCharacters(in: "\n"))` (pid \(who[0]))" : "another skiff command"
                throw RuntimeError("container \(JSON.quoted(id)) is busy: \(what) has been working on it for over \(StateStore.lockTimeout) s; try again, or stop that command")
            }
            usleep(pause)
            pause = min(pause * 2, 20000)
        }
        var st = Glibc.stat()
        if fstat(fd, &st) == 0 && st.st_nlink == 0 {
            close(fd) // deleted while we waited
            throw RuntimeError("container \(JSON.quoted(id)) does not exist")
        }
        let holder = Array("\(getpid()) \(command)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = holder.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        StateStore.held[key] = fd
        defer {
            StateStore.held[key] = nil
            close(fd)
        }
        return try body()
    }

    /// Closes every lock fd this process holds: a forked child that goes on living (the
    /// container's init) must not keep the container locked.
    public static func closeHeldLocks() {
        for (_, fd) in held { close(fd) }
    }

    public func load(_ id: String) throws -> ContainerState {
        try StateStore.validate(id: id)
        guard let text = Files.readIfPresent(stateFile(id)) else {
            if exists(id) {
                // Claimed but not yet written: `create` is still working on it.
                var s = ContainerState(id: id, bundle: "", rootfs: "", ociVersion: "", annotations: [])
                s.phase = .creating
                return s
            }
            throw RuntimeError("container \(JSON.quoted(id)) does not exist")
        }
        do {
            return try ContainerState(from: Node(try JSONParser.parse(text)))
        } catch {
            throw RuntimeError("state of container \(JSON.quoted(id)) in \(q(stateFile(id))) is damaged (\(error)); remove it with `skiff delete --force \(id)`")
        }
    }

    public func save(_ s: ContainerState) throws {
        // A state.json of an older skiff had the spec parts inline: keep them when rewriting it.
        if (s.hooks != nil || s.process != nil || s.seccomp != nil) && !Files.exists(specFile(s.id)) { try saveSpec(s) }
        do { try Files.writeAtomic(stateFile(s.id), s.json.serialized()) } catch let e as SysError {
            throw RuntimeError("cannot write the state of container \(JSON.quoted(s.id)): \(e)")
        }
    }

    public func remove(_ id: String) throws {
        do { try Files.removeTree(dir(id)) } catch let e as SysError {
            throw RuntimeError("cannot remove the state of container \(JSON.quoted(id)): \(e)")
        }
    }

    /// What a damaged state.json still tells: the leading `pid`, `startTime`, `cgroupPath` and
    /// `cgroupCreated` members, each taken only if it parses completely.
    static func salvage(_ text: String) -> (pid: Int32?, startTime: UInt64?, cgroupPath: String?, cgroupCreated: [String]?, systemdUnit: String?) {
        func member(_ name: String) -> JSON? {
            guard let r = text.firstRange(of: "\"\(name)\":") else { return nil }
            let rest = text[r.upperBound...].prefix(16384)
            // The value ends before the next top-level member; try the shortest prefix that parses.
            var end = rest.startIndex
            // A value cut by the end of the file is not taken ("pid":123 may have been 12345).
            while end < rest.endIndex {
                let c = rest[end]
                if c == "," || c == "}", let v = try? JSONParser.parse(String(rest[..<end])) { return v }
                end = rest.index(after: end)
            }
            return nil
        }
        var pid: Int32?, start: UInt64?, path: String?, created: [String]?
        if case .number(let n)? = member("pid") { pid = Int32(n) }
        if case .number(let n)? = member("startTime") { start = UInt64(n) }
        if case .string(let p)? = member("cgroupPath") { path = p }
        if case .array(let a)? = member("cgroupCreated") {
            created = a.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        }
        var unit: String?
        if case .string(let u)? = member("systemdUnit") { unit = u }
        return (pid, start, path, created, unit)
    }

    public func ids() -> [String] {
        Files.list(root).filter { Files.isDirectory(root + "/" + $0) }.sorted()
    }
}
