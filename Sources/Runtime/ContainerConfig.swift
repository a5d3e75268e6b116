import Cgroups
import Seccomp
import Glibc
import LinuxSys
import OCISpec

/// What `create` and `run` are asked to do, from the command line.
public struct CreateOptions {
    public var id: String
    public var bundle: String
    public var pidFile: String?
    public var consoleSocket: String?
    public var noPivot = false
    public var noNewKeyring = false
    public var preserveFds = 0
    /// With process.terminal and no console socket, create makes one itself and returns its
    /// end (`Created.terminal`): a foreground `run` relays the terminal.
    public var relayTerminal = false
    /// Variables added to process.env (LISTEN_FDS and LISTEN_PID for socket activation).
    public var extraEnv: [String] = []
    /// Rootless mode (euid != 0, or `--rootless true`): a cgroup the user may not create is
    /// skipped instead of an error, and device rules are not applied.
    public var rootless = geteuid() != 0
    /// `--systemd-cgroup`: the cgroup is a transient systemd scope (linux.cgroupsPath is
    /// "slice:prefix:name").
    public var systemdCgroup = false

    public init(id: String, bundle: String) {
        self.id = id
        self.bundle = bundle
    }
}

/// A loaded, validated container configuration: the spec plus everything derived from it
/// before any process exists (absolute paths, the namespace plan, the cgroup).
struct ContainerConfig {
    let spec: Spec
    let process: OCISpec.Process
    let options: CreateOptions
    let bundle: String
    let rootfs: String
    let plan: NamespacePlan
    let cgroupLayout: CgroupLayout
    let cgroupPath: String
    /// With --systemd-cgroup, the scope unit that holds the container.
    var systemdUnit: SystemdUnit? = nil
    /// A bind mount covers /dev: the default device nodes come from there.
    let bindsDev: Bool
    /// config.json's `hooks`, as written, kept in the state for `start` and `delete`.
    var rawHooks: JSON? = nil
    /// config.json's `process`, kept for `exec` (its defaults: capabilities, env, user...).
    var rawProcess: JSON? = nil
    /// config.json's `linux.seccomp`, kept for `exec`, which gets the container's filter.
    var rawSeccomp: JSON? = nil
    /// linux.seccomp compiled to BPF (before fork; the child only loads it).
    var seccomp: SeccompProgram? = nil

    static let configLimit = 16 << 20

    /// The bytes of config.json: a regular file (a fifo would block `create` for ever, a symlink
    /// to /dev/zero never ends) of at most 16 MiB.
    static func readConfig(_ path: String, bundle: String) throws -> [UInt8] {
        let fd: Int32
        do { fd = try Files.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY) } catch let e as SysError {
            if e.errno == ENOENT {
                throw RuntimeError("\(q(path)) does not exist: the bundle needs a config.json (write one with `skiff spec --bundle \(bundle)`)")
            }
            throw RuntimeError("cannot open \(q(path)): \(SysError.text(e.errno))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RuntimeError("cannot stat \(q(path)): \(SysError.text(errno))") }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw RuntimeError("\(q(path)) is \(Files.kindName(st.st_mode)), not a regular file: config.json must be a file")
        }
        guard st.st_size <= configLimit else {
            throw RuntimeError("\(q(path)) is larger than 16 MiB (\(st.st_size) bytes): skiff refuses configs that big")
        }
        do { return try Files.readAll(fd: fd, limit: configLimit) } catch let e as SysError {
            if e.errno == EFBIG { throw RuntimeError("\(q(path)) is larger than 16 MiB: skiff refuses configs that big") }
            throw RuntimeError("cannot read \(q(path)): \(SysError.text(e.errno))")
        }
    }

    /// Reads `<bundle>/config.json` and checks it: every error names the JSON path.
    static func load(_ options: CreateOptions) throws -> ContainerConfig {
        let bundle = Files.absolute(options.bundle)
        guard Files.isDirectory(bundle) else {
            throw RuntimeError("bundle \(q(bundle)) is not a directory (give the bundle with --bundle DIR)")
        }
        let configPath = bundle + "/config.json"
        let bytes = try readConfig(configPath, bundle: bundle)
        var spec: Spec
        let doc: JSON
        do {
            do { doc = try JSONParser.parse(bytes: bytes) } catch let e as JSONSyntaxError {
                throw DecodeError(path: "", "not valid JSON: \(e)")
            }
            spec = try Spec(from: Node(doc))
        } catch let e as DecodeError {
            throw RuntimeError("config.json: \(e)")
        }
        // Relative mount sources of bind mounts are relative to the bundle; relative
        // destinations (deprecated, config.md) are relative to "/".
        for i in spec.mounts.indices {
            if !spec.mounts[i].destination.hasPrefix("/") && !spec.mounts[i].destination.isEmpty {
                Log.debug("mounts[\(i)].destination: relative path \(JSON.quoted(spec.mounts[i].destination)) taken as relative to \"/\" (deprecated in config.md)")
                spec.mounts[i].destination = "/" + spec.mounts[i].destination
            }
            if let s = spec.mounts[i].source, !s.hasPrefix("/"),
               spec.mounts[i].options.contains(where: { $0 == "bind" || $0 == "rbind" }) || spec.mounts[i].type == "bind" {
                spec.mounts[i].source = Files.clean(bundle + "/" + s)
            }
        }
        do {
            var config = try validate(spec, options: options, bundle: bundle)
            config.rawHooks = doc["hooks"]
            config.rawProcess = doc["process"]
            config.rawSeccomp = doc["linux"]?["seccomp"]
            if let profile = spec.linux?.seccomp {
                config.seccomp = try SeccompFilters.compile(profile, path: "linux.seccomp", raw: config.rawSeccomp)
            }
            return config
        } catch let e as DecodeError {
            throw RuntimeError("config.json: \(e)")
        } catch let e as SeccompError {
            throw RuntimeError("config.json: \(e)")
        }
    }

    static func validate(_ spec: Spec, options: CreateOptions, bundle: String) throws -> ContainerConfig {
        guard var process = spec.process else {
            throw DecodeError(path: "process", "is required to create a container", hint: "add a process with args, cwd and user")
        }
        guard let root = spec.root else {
            throw DecodeError(path: "root", "is required on Linux", hint: "add \"root\": {\"path\": \"rootfs\"}")
        }
        if process.args.isEmpty {
            throw DecodeError(path: "process.args", "is empty: name the program to run", hint: "for example [\"sh\"]")
        }
        let rootfs = root.path.hasPrefix("/") ? Files.clean(root.path) : Files.clean(bundle + "/" + root.path)
        // Like runc: the rootfs path itself must not go through a symlink, which could be
        // swapped between the checks and the mounts.
        var real = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(rootfs, &real) != nil, String(cString: real) != rootfs {
            throw DecodeError(path: "root.path", "\(JSON.quoted(root.path)) goes through a symlink (it resolves to \(String(cString: real)))",
                              hint: "give the real path of the rootfs")
        }
        guard let st = Files.stat(rootfs) else {
            throw DecodeError(path: "root.path", "\(JSON.quoted(root.path)) does not exist (looked for \(rootfs))",
                              hint: "the rootfs directory must exist before create")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw DecodeError(path: "root.path", "\(JSON.quoted(root.path)) is not a directory")
        }
        for e in options.extraEnv {
            let name = e.prefix { $0 != "=" }
            process.env.removeAll { $0.hasPrefix(name + "=") }
            process.env.append(e)
        }
        let linux = spec.linux ?? Linux()
        let plan = NamespacePlan(linux.namespaces)
        try Support.check(spec, plan: plan)

        if let h = spec.hostname, !h.isEmpty, !plan.has(.uts) {
            throw DecodeError(path: "hostname", "is set but the container has no UTS namespace of its own",
                              hint: "add {\"type\": \"uts\"} to linux.namespaces")
        }
        if let d = spec.domainname, !d.isEmpty, !plan.has(.uts) {
            throw DecodeError(path: "domainname", "is set but the container has no UTS namespace of its own",
                              hint: "add {\"type\": \"uts\"} to linux.namespaces")
        }
        if plan.isNew(.user) {
            if linux.uidMappings.isEmpty || linux.gidMappings.isEmpty {
                throw DecodeError(path: "linux.uidMappings", "a new user namespace needs uidMappings and gidMappings")
            }
        } else if !plan.has(.user) && (!linux.uidMappings.isEmpty || !linux.gidMappings.isEmpty) {
            throw DecodeError(path: linux.uidMappings.isEmpty ? "linux.gidMappings" : "linux.uidMappings",
                              "mappings are given but there is no new user namespace", hint: "add {\"type\": \"user\"} to linux.namespaces")
        }
        if !linux.timeOffsets.isEmpty && !plan.isNew(.time) {
            throw DecodeError(path: "linux.timeOffsets", "offsets are given but there is no new time namespace",
                              hint: "add {\"type\": \"time\"} to linux.namespaces")
        }
        if process.terminal && options.consoleSocket == nil && !options.relayTerminal {
            throw DecodeError(path: "process.terminal", "is true, but no --console-socket was given to receive the terminal",
                              hint: "pass --console-socket PATH, or set process.terminal to false")
        }
        if !process.terminal && options.consoleSocket != nil {
            throw DecodeError(path: "process.terminal", "is false, but --console-socket was given", hint: "set process.terminal to true or drop --console-socket")
        }
        if !process.cwd.hasPrefix("/") {
            throw DecodeError(path: "process.cwd", "\(JSON.quoted(process.cwd)) must be an absolute path")
        }
        for (i, m) in spec.mounts.enumerated() where !m.destination.hasPrefix("/") {
            throw DecodeError(path: "mounts[\(i)].destination", "must not be empty", hint: "give the path in the container, such as \"/data\"")
        }
        for (i, m) in spec.mounts.enumerated() { _ = try MountOptions(m.options, path: "mounts[\(i)].options") }
        for (key, _) in linux.sysctl where key.contains("..") || key.contains("/") || key.isEmpty {
            throw DecodeError(path: "linux.sysctl", "invalid key \(JSON.quoted(key))")
        }
        let bindsDev = spec.mounts.contains {
            Files.clean($0.destination) == "/dev" && ($0.type == "bind" || $0.options.contains("bind") || $0.options.contains("rbind"))
        }
        let unit = options.systemdCgroup ? try SystemdUnit.parse(cgroupsPath: linux.cgroupsPath, id: options.id) : nil
        let cgroupPath = try unit?.cgroupPath ?? Cgroup.path(cgroupsPath: linux.cgroupsPath, id: options.id)
        var c = ContainerConfig(spec: spec, process: process, options: options, bundle: bundle, rootfs: rootfs, plan: plan,
                                cgroupLayout: CgroupLayout.current, cgroupPath: cgroupPath, bindsDev: bindsDev)
        c.systemdUnit = unit
        return c
    }
}
