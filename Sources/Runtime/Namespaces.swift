import CSkiff
import Glibc
import LinuxSys
import OCISpec

extension NamespaceType {
    var cloneFlag: Int32 {
        switch self {
        case .pid: return SKIFF_CLONE_NEWPID
        case .network: return SKIFF_CLONE_NEWNET
        case .mount: return SKIFF_CLONE_NEWNS
        case .ipc: return SKIFF_CLONE_NEWIPC
        case .uts: return SKIFF_CLONE_NEWUTS
        case .user: return SKIFF_CLONE_NEWUSER
        case .cgroup: return SKIFF_CLONE_NEWCGROUP
        case .time: return SKIFF_CLONE_NEWTIME
        }
    }

    /// The name under /proc/PID/ns/.
    public var procName: String {
        switch self {
        case .pid: return "pid"
        case .network: return "net"
        case .mount: return "mnt"
        case .ipc: return "ipc"
        case .uts: return "uts"
        case .user: return "user"
        case .cgroup: return "cgroup"
        case .time: return "time"
        }
    }
}

/// The namespaces a container gets: new ones (unshare) and existing ones (setns by path).
struct NamespacePlan {
    var new: [NamespaceType] = []
    var join: [(type: NamespaceType, path: String, index: Int)] = []

    init(_ namespaces: [Namespace]) {
        for (i, ns) in namespaces.enumerated() {
            if let p = ns.path, !p.isEmpty { join.append((ns.type, p, i)) } else { new.append(ns.type) }
        }
    }

    func has(_ t: NamespaceType) -> Bool { new.contains(t) || join.contains { $0.type == t } }
    func isNew(_ t: NamespaceType) -> Bool { new.contains(t) }

    /// Opens every namespace to join, in the parent, so that a bad path is reported before any
    /// process exists: `linux.namespaces[1].path: open "/proc/99/ns/net": No such file or directory`.
    func openJoined() throws -> [(type: NamespaceType, fd: Int32, index: Int)] {
        var fds: [(NamespaceType, Int32, Int)] = []
        do {
            for j in join {
                let fd = skiff_open(j.path, O_RDONLY | O_CLOEXEC, 0)
                if fd < 0 {
                    throw DecodeError(path: "linux.namespaces[\(j.index)].path", "cannot open \(JSON.quoted(j.path)): \(SysError.text(errno))",
                                      hint: "the path must name a namespace file such as /proc/PID/ns/\(j.type.procName) or a bind mount of one")
                }
                fds.append((j.type, fd, j.index))
                // NS_GET_NSTYPE would be exact; comparing with setns' type check happens in the child.
            }
        } catch {
            for f in fds { close(f.1) }
            throw error
        }
        return fds
    }

    /// Joins the opened namespaces. Namespaces owned by the user namespace being joined can
    /// only be entered after it, and the others only before it: try all non-user ones first,
    /// then the user namespace, then retry the ones refused with EPERM.
    static func join(_ fds: [(type: NamespaceType, fd: Int32, index: Int)]) throws {
        var later: [(type: NamespaceType, fd: Int32, index: Int)] = []
        for f in fds where f.type != .user {
            if skiff_setns(f.fd, f.type.cloneFlag) != 0 {
                if errno == EPERM && fds.contains(where: { $0.type == .user }) { later.append(f); continue }
                throw nsError(f)
            }
        }
        for f in fds where f.type == .user {
            if skiff_setns(f.fd, f.type.cloneFlag) != 0 { throw nsError(f) }
        }
        for f in later where skiff_setns(f.fd, f.type.cloneFlag) != 0 { throw nsError(f) }
        for f in fds { close(f.fd) }
    }

    /// After entering or creating a user namespace: become its root (host uid 0 is usually not
    /// mapped there). The process stays non-dumpable (Hardening.hideFromContainer), so its
    /// /proc/self files belong to the unmapped host root: writes to them are done before the
    /// user namespace is joined (oom_score_adj of exec) or while briefly dumpable (timens_offsets).
    static func becomeRoot(what: String) throws {
        if skiff_setresgid(0, 0, 0) != 0 || skiff_setresuid(0, 0, 0) != 0 {
            throw RuntimeError("\(what): uid and gid 0 are not mapped in the user namespace (setresuid(0): \(SysError.text(errno)))")
        }
        Hardening.hideFromContainer()
    }

    static func nsError(_ f: (type: NamespaceType, fd: Int32, index: Int)) -> RuntimeError {
        let e = errno
        let why = e == EINVAL ? "the file is not a \(f.type.rawValue) namespace" : SysError.text(e)
        return RuntimeError("linux.namespaces[\(f.index)]: cannot join the \(f.type.rawValue) namespace: \(why)")
    }
}

/// uid_map / gid_map text ("containerID hostID size" per line).
func mappingText(_ m: [IDMapping]) -> String {
    m.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
}
