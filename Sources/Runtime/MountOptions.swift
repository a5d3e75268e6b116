import CSkiff
import OCISpec

/// config.md's table of mount options, turned into what the kernel takes: mount(2) flags,
/// propagation changes, recursive attributes for mount_setattr(2), and the data string.
public struct MountOptions: Equatable {
    public var flags: UInt = 0
    public var clear: UInt = 0
    public var propagation: [UInt] = []
    public var recursiveSet: UInt64 = 0
    public var recursiveClear: UInt64 = 0
    public var data: [String] = []
    public var bind = false
    public var recursiveBind = false
    public var tmpcopyup = false
    /// `idmap` / `ridmap`: an idmapped mount (ridmap: of every mount of an rbind too).
    public var idmap = false
    public var recursiveIdmap = false

    static let msIVersion: UInt = 1 << 23
    static let msNoSymfollow: UInt = 256

    /// Options that set or clear one mount(2) flag.
    static let flagTable: [String: (set: Bool, flag: UInt)] = [
        "async": (false, SKIFF_MS_SYNCHRONOUS), "atime": (false, SKIFF_MS_NOATIME),
        "defaults": (true, 0), "dev": (false, SKIFF_MS_NODEV), "diratime": (false, SKIFF_MS_NODIRATIME),
        "dirsync": (true, SKIFF_MS_DIRSYNC), "exec": (false, SKIFF_MS_NOEXEC), "iversion": (true, msIVersion),
        "lazytime": (true, SKIFF_MS_LAZYTIME), "loud": (false, SKIFF_MS_SILENT), "mand": (true, SKIFF_MS_MANDLOCK),
        "noatime": (true, SKIFF_MS_NOATIME), "nodev": (true, SKIFF_MS_NODEV), "nodiratime": (true, SKIFF_MS_NODIRATIME),
        "noexec": (true, SKIFF_MS_NOEXEC), "noiversion": (false, msIVersion), "nolazytime": (false, SKIFF_MS_LAZYTIME),
        "nomand": (false, SKIFF_MS_MANDLOCK), "norelatime": (false, SKIFF_MS_RELATIME),
        "nostrictatime": (false, SKIFF_MS_STRICTATIME), "nosuid": (true, SKIFF_MS_NOSUID),
        "nosymfollow": (true, msNoSymfollow), "symfollow": (false, msNoSymfollow),
        "relatime": (true, SKIFF_MS_RELATIME), "remount": (true, SKIFF_MS_REMOUNT), "ro": (true, SKIFF_MS_RDONLY),
        "rw": (false, SKIFF_MS_RDONLY), "silent": (true, SKIFF_MS_SILENT), "strictatime": (true, SKIFF_MS_STRICTATIME),
        "suid": (false, SKIFF_MS_NOSUID), "sync": (true, SKIFF_MS_SYNCHRONOUS),
    ]

    static let propagationTable: [String: UInt] = [
        "private": SKIFF_MS_PRIVATE, "rprivate": SKIFF_MS_PRIVATE | SKIFF_MS_REC,
        "shared": SKIFF_MS_SHARED, "rshared": SKIFF_MS_SHARED | SKIFF_MS_REC,
        "slave": SKIFF_MS_SLAVE, "rslave": SKIFF_MS_SLAVE | SKIFF_MS_REC,
        "unbindable": SKIFF_MS_UNBINDABLE, "runbindable": SKIFF_MS_UNBINDABLE | SKIFF_MS_REC,
    ]

    /// Recursive attributes (mount_setattr with AT_RECURSIVE): set or clear.
    static let recursiveTable: [String: (set: Bool, attr: UInt64)] = [
        "rro": (true, SKIFF_MOUNT_ATTR_RDONLY), "rrw": (false, SKIFF_MOUNT_ATTR_RDONLY),
        "rnosuid": (true, SKIFF_MOUNT_ATTR_NOSUID), "rsuid": (false, SKIFF_MOUNT_ATTR_NOSUID),
        "rnodev": (true, SKIFF_MOUNT_ATTR_NODEV), "rdev": (false, SKIFF_MOUNT_ATTR_NODEV),
        "rnoexec": (true, SKIFF_MOUNT_ATTR_NOEXEC), "rexec": (false, SKIFF_MOUNT_ATTR_NOEXEC),
        "rnodiratime": (true, SKIFF_MOUNT_ATTR_NODIRATIME), "rdiratime": (false, SKIFF_MOUNT_ATTR_NODIRATIME),
        "rnosymfollow": (true, SKIFF_MOUNT_ATTR_NOSYMFOLLOW), "rsymfollow": (false, SKIFF_MOUNT_ATTR_NOSYMFOLLOW),
    ]

    /// Access-time options set one value of the MOUNT_ATTR__ATIME field.
    static let recursiveAtime: [String: UInt64] = [
        "rrelatime": SKIFF_MOUNT_ATTR_RELATIME, "rnoatime": SKIFF_MOUNT_ATTR_NOATIME,
        "rstrictatime": SKIFF_MOUNT_ATTR_STRICTATIME,
        "ratime": SKIFF_MOUNT_ATTR_STRICTATIME, "rnorelatime": SKIFF_MOUNT_ATTR_STRICTATIME,
        "rnostrictatime": SKIFF_MOUNT_ATTR_RELATIME,
    ]

    /// Every option of config.md's table skiff implements (for `skiff features`).
    public static var supportedNames: [String] {
        (Array(flagTable.keys) + Array(propagationTable.keys) + Array(recursiveTable.keys) + Array(recursiveAtime.keys)
            + ["bind", "rbind", "tmpcopyup", "idmap", "ridmap"]).sorted()
    }

    /// Parses `mounts[index].options`. Unknown words that look like `key=value` or a bare
    /// filesystem option (`newinstance`) are passed to the filesystem as data, as runc does.
    public init(_ options: [String], path: String) throws {
        for (i, o) in options.enumerated() {
            if let f = MountOptions.flagTable[o] {
                if f.set { flags |= f.flag; clear &= ~f.flag } else { clear |= f.flag; flags &= ~f.flag }
            } else if let p = MountOptions.propagationTable[o] {
                propagation.append(p)
            } else if let r = MountOptions.recursiveTable[o] {
                if r.set { recursiveSet |= r.attr } else { recursiveClear |= r.attr }
            } else if let a = MountOptions.recursiveAtime[o] {
                recursiveClear |= SKIFF_MOUNT_ATTR__ATIME
                recursiveSet = (recursiveSet & ~SKIFF_MOUNT_ATTR__ATIME) | a
            } else if o == "bind" {
                bind = true
            } else if o == "rbind" {
                bind = true; recursiveBind = true
            } else if o == "tmpcopyup" {
                tmpcopyup = true
            } else if o == "idmap" {
                idmap = true
            } else if o == "ridmap" {
                idmap = true; recursiveIdmap = true
            } else if o.isEmpty {
                throw DecodeError(path: "\(path)[\(i)]", "empty mount option")
            } else {
                data.append(o)
            }
        }
    }

    public var dataString: String { data.joined(separator: ",") }
}
