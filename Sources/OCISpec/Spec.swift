// The top of config.json (config.md): version, root filesystem, mounts, hooks, annotations.

/// A container configuration (config.json).
public struct Spec: JSONDecodable {
    /// The runtime-spec version skiff writes and implements.
    public static let currentVersion = "1.3.0"

    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]
    public var hooks: Hooks?
    /// In document order.
    public var annotations: [(String, String)]
    public var linux: Linux?

    public init(ociVersion: String = Spec.currentVersion, process: Process? = nil, root: Root? = nil,
                hostname: String? = nil, domainname: String? = nil, mounts: [Mount] = [], hooks: Hooks? = nil,
                annotations: [(String, String)] = [], linux: Linux? = nil) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.domainname = domainname
        self.mounts = mounts
        self.hooks = hooks
        self.annotations = annotations
        self.linux = linux
    }

    public init(from node: Node) throws {
        let r = try node.object()
        let versionNode = try r.required("ociVersion")
        ociVersion = try versionNode.string()
        guard let major = semverMajor(ociVersion) else {
            throw versionNode.fail("\(JSON.quoted(ociVersion)) is not a valid version",
                                   hint: "expected a SemVer version such as \"\(Spec.currentVersion)\"")
        }
        // 0.x drafts are accepted (runc does, and the spec's own example is "0.5.0-dev");
        // a new major version is incompatible by definition.
        if major > 1 {
            throw versionNode.fail("unsupported version \(JSON.quoted(ociVersion)): skiff implements runtime-spec 1.0 to 1.3")
        }
        process = try r.decode("process")
        root = try r.decode("root")
        hostname = try r.string("hostname")
        domainname = try r.string("domainname")
        mounts = try r.list("mounts")
        hooks = try r.decode("hooks")
        annotations = try r.stringMap("annotations") ?? []
        if annotations.contains(where: { $0.0.isEmpty }) {
            throw DecodeError(path: "annotations", "an annotation key must not be empty")
        }
        linux = try r.decode("linux")
    }

    /// Decodes config.json text. Broken JSON is reported with its line and column.
    public static func parse(_ text: String) throws -> Spec {
        try decodeJSONDocument(text, as: Spec.self)
    }

    /// The value of an annotation, if set.
    public func annotation(_ key: String) -> String? {
        annotations.first { $0.0 == key }?.1
    }
}

/// The container's root filesystem.
public struct Root: JSONDecodable {
    /// Absolute, or relative to the bundle.
    public var path: String
    public var readonly: Bool

    public init(path: String = "rootfs", readonly: Bool = false) {
        self.path = path
        self.readonly = readonly
    }

    public init(from node: Node) throws {
        let r = try node.object()
        path = try r.required("path").nonEmptyString()
        readonly = try r.flag("readonly")
    }
}

/// One entry of `mounts`.
public struct Mount: JSONDecodable {
    /// Inside the container. Relative paths are deprecated but allowed on Linux (relative to "/").
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]
    /// For idmapped mounts; both or neither.
    public var uidMappings: [IDMapping]
    public var gidMappings: [IDMapping]

    public init(destination: String = "/", type: String? = nil, source: String? = nil, options: [String] = [],
                uidMappings: [IDMapping] = [], gidMappings: [IDMapping] = []) {
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options
        self.uidMappings = uidMappings
        self.gidMappings = gidMappings
    }

    public init(from node: Node) throws {
        let r = try node.object()
        destination = try r.required("destination").nonEmptyString()
        type = try r.string("type")
        source = try r.string("source")
        options = try r.stringList("options")
        uidMappings = try r.list("uidMappings")
        gidMappings = try r.list("gidMappings")
        if r.has("uidMappings") != r.has("gidMappings") {
            let (given, missing) = r.has("uidMappings") ? ("uidMappings", "gidMappings") : ("gidMappings", "uidMappings")
            throw DecodeError(path: node.child(missing), "is required when \(given) is set",
                              hint: "an idmapped mount needs both uidMappings and gidMappings")
        }
    }
}

/// The lifecycle hooks, each list in the order to run.
public struct Hooks: JSONDecodable {
    /// Deprecated by the spec, still run (before createRuntime).
    public var prestart: [Hook]
    public var createRuntime: [Hook]
    public var createContainer: [Hook]
    public var startContainer: [Hook]
    public var poststart: [Hook]
    public var poststop: [Hook]

    public init(prestart: [Hook] = [], createRuntime: [Hook] = [], createContainer: [Hook] = [],
                startContainer: [Hook] = [], poststart: [Hook] = [], poststop: [Hook] = []) {
        self.prestart = prestart
        self.createRuntime = createRuntime
        self.createContainer = createContainer
        self.startContainer = startContainer
        self.poststart = poststart
        self.poststop = poststop
    }

    public init(from node: Node) throws {
        let r = try node.object()
        prestart = try r.list("prestart")
        createRuntime = try r.list("createRuntime")
        createContainer = try r.list("createContainer")
        startContainer = try r.list("startContainer")
        poststart = try r.list("poststart")
        poststop = try r.list("poststop")
    }
}

/// One hook: a program run with the container state on stdin.
public struct Hook: JSONDecodable {
    public var path: String
    public var args: [String]
    public var env: [String]
    /// Seconds; > 0 when set.
    public var timeout: Int?

    public init(path: String = "/", args: [String] = [], env: [String] = [], timeout: Int? = nil) {
        self.path = path
        self.args = args
        self.env = env
        self.timeout = timeout
    }

    public init(from node: Node) throws {
        let r = try node.object()
        path = try r.required("path").absolutePath("a hook path")
        args = try r.stringList("args")
        env = try r.stringList("env")
        if let t = r.optional("timeout") {
            let v = try t.int(Int.self)
            if v <= 0 { throw t.fail("must be greater than zero, got \(v)", hint: "the number of seconds before the hook is aborted") }
            if v > Int(UInt32.max) { throw t.fail("\(v) is out of range (1 to \(UInt32.max) seconds)", hint: "omit timeout to wait for the hook without a limit") }
            timeout = v
        } else {
            timeout = nil
        }
    }
}
