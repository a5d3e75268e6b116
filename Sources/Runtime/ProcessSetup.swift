import CCap
import CSkiff
import Glibc
import LinuxSys
import OCISpec
import Seccomp

/// The settings of `process` and of the container that apply to the init process itself:
/// hostname, sysctl, rlimits, loopback, then at start: user, capabilities, cwd, exec.
enum ProcessSetup {
    /// Settings that need the container's namespaces and /proc, applied after pivot_root.
    static func applyNamespaceSettings(_ config: ContainerConfig) throws {
        let spec = config.spec
        if let h = spec.hostname, !h.isEmpty {
            try sys("hostname: sethostname \(JSON.quoted(h))") { sethostname(h, h.utf8.count) }
        }
        if let d = spec.domainname, !d.isEmpty {
            try sys("domainname: setdomainname \(JSON.quoted(d))") { setdomainname(d, d.utf8.count) }
        }
        for (key, value) in spec.linux?.sysctl ?? [] {
            // Checked to land on the procfs file itself (CVE-2025-52881).
            let file = "sys/" + key.replacingAll(".", with: "/")
            do { try Hardening.writeProc(file, value, what: "linux.sysctl[\(JSON.quoted(key))]") } catch let e as ProcWriteError {
                let why = e.errno == ENOENT ? "no such kernel parameter (or /proc is not mounted)" : e.reason
                throw RuntimeError("linux.sysctl[\(JSON.quoted(key))]: cannot set it to \(JSON.quoted(value)): \(why)")
            }
        }
        if config.plan.isNew(.network) { try loopbackUp() }
    }

    static func applyRlimits(_ config: ContainerConfig) throws { try applyRlimits(config.process.rlimits) }

    static func applyRlimits(_ rlimits: [Rlimit]) throws {
        for (i, r) in rlimits.enumerated() {
            var lim = rlimit(rlim_cur: rlim_t(r.soft), rlim_max: rlim_t(r.hard))
            if setrlimit(__rlimit_resource_t(UInt32(r.resource)), &lim) != 0 {
                let e = errno
                var hint = ""
                if e == EPERM { hint = " (raising a hard limit needs CAP_SYS_RESOURCE, which skiff does not have here)" }
                if e == EINVAL { hint = " (the soft limit must not exceed the hard limit)" }
                throw RuntimeError("process.rlimits[\(i)]: cannot set \(r.type) to soft \(r.soft), hard \(r.hard): \(SysError.text(e))\(hint)")
            }
        }
    }

    /// Brings `lo` up in a new network namespace (runc and crun do the same).
    static func loopbackUp() throws {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw SysError("set up loopback: socket") }
        defer { close(s) }
        var req = ifreq()
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { b in
            for (i, c) in "lo".utf8.enumerated() { b[i] = c }
        }
        if skiff_ioctl_ptr(s, 0x8913 /* SIOCGIFFLAGS */, &req) != 0 { throw SysError("set up loopback: get flags of lo") }
        req.ifr_ifru.ifru_flags |= Int16(IFF_UP)
        if skiff_ioctl_ptr(s, 0x8914 /* SIOCSIFFLAGS */, &req) != 0 { throw SysError("set up loopback: bring lo up") }
    }

    /// The value of PATH in `env`, if any.
    static func pathVariable(_ env: [String]) -> String? {
        env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
    }

    /// Finds `process.args[0]` inside the container (after pivot_root), as execvp would.
    static func lookup(_ arg0: String, env: [String]) throws -> String {
        func executable(_ p: String) -> Int32? {
            guard let st = Files.stat(p) else { return errno }
            if st.st_mode & S_IFMT == S_IFDIR { return EISDIR }
            if st.st_mode & 0o111 == 0 { return EACCES }
            return nil
        }
        if arg0.isEmpty { throw RuntimeError("process.args[0] is empty: name the program to run") }
        if arg0.contains("/") {
            if let e = executable(arg0) {
                let why = e == ENOENT ? "does not exist in the container" : e == EISDIR ? "is a directory" : e == EACCES ? "is not executable" : "cannot be run"
                throw RuntimeError("process.args[0]: \(JSON.quoted(arg0)) \(why): \(errnoPhrase(e == EISDIR ? EACCES : e))")
            }
            return arg0
        }
        guard let path = pathVariable(env) else {
            throw RuntimeError("process.args[0]: \(JSON.quoted(arg0)) is not a path and process.env has no PATH to look it up in (give an absolute path or add PATH=... to process.env)")
        }
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + arg0
            if executable(candidate) == nil { return candidate }
        }
        throw RuntimeError("process.args[0]: \(JSON.quoted(arg0)) not found in the container's PATH (\(path)): executable file not found in $PATH; check the program name, or give its absolute path")
    }

    /// The last steps of every container process, init or exec'd: identity and capabilities,
    /// no_new_privs, umask, cwd, environment, fds, signal state, then execve. Returns only by
    /// throwing why it could not exec.
    static func execProcess(_ p: OCISpec.Process, program: String, inUserNS: Bool, preserveFds: Int, keepFD: Int32,
                            seccomp: SeccompFilters.Loaded? = nil) throws -> Never {
        // Logged before any filter is loaded: the profile may not allow write(2).
        Log.phase("container: seccomp\(seccomp == nil ? " (none)" : ""), user and capabilities, exec")
        // Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the capabilities
        // go. With it, as late as possible, so that few syscalls run under the filter.
        if let seccomp, !p.noNewPrivileges { try seccomp.load() }
        try becomeUser(p, inUserNS: inUserNS, setgroupsAllowed: true)
        if p.noNewPrivileges {
            try sys("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)") { skiff_prctl(SKIFF_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }
            if let seccomp { try seccomp.load() }
        }
        umask(mode_t(p.user.umask ?? 0o022))
        if chdir(p.cwd) != 0 {
            throw RuntimeError("process.cwd: cannot enter \(JSON.quoted(p.cwd)) as uid \(p.user.uid): \(SysError.text(errno))")
        }
        try Hardening.checkCwdInsideRoot(p.cwd)
        var env = p.env
        if !env.contains(where: { $0.hasPrefix("HOME=") }) { env.append("HOME=" + Users.home(uid: p.user.uid)) }
        try FDs.prepareForExec(preserve: preserveFds, keep: keepFD)
        let argv = CStrings(p.args), envp = CStrings(env)
        Signals.resetForExec()
        execve(program, argv.pointers, envp.pointers)
        throw RuntimeError("process.args[0]: cannot execute \(JSON.quoted(program)): \(errnoPhrase(errno))")
    }

    /// An errno as Go's syscall package spells it ("no such file or directory", "permission
    /// denied"): docker and podman turn a failed start into exit code 127 or 126 by finding
    /// these phrases, lower case, in the runtime's message (runc's are Go's).
    static func errnoPhrase(_ e: Int32) -> String {
        let t = SysError.text(e)
        guard let first = t.first else { return t }
        return first.lowercased() + t.dropFirst()
    }

    // MARK: - Identity and capabilities

    /// Capability names the kernel or libcap does not know are warnings, not errors (the spec
    /// says so): checked in the parent, where the warning reaches the log.
    static func unknownCapabilities(_ caps: Capabilities?) -> [String] {
        guard let caps else { return [] }
        let all = [caps.bounding, caps.effective, caps.inheritable, caps.permitted, caps.ambient].compactMap { $0 }.flatMap { $0 }
        var unknown: [String] = []
        for name in all where capValue(name) == nil && !unknown.contains(name) { unknown.append(name) }
        return unknown
    }

    /// The kernel raises an ambient capability only if it is permitted and inheritable. runc
    /// drops the others silently; skiff drops them too (configs from `runc spec` list ambient
    /// capabilities without inheritable ones) but warns about each at create.
    static func raisableAmbient(_ caps: Capabilities) -> [String] {
        let inh = Set(caps.inheritable ?? []), prm = Set(caps.permitted ?? [])
        return (caps.ambient ?? []).filter { inh.contains($0) && prm.contains($0) }
    }

    static func droppedAmbient(_ caps: Capabilities?) -> [String] {
        guard let caps else { return [] }
        let keep = Set(raisableAmbient(caps))
        return (caps.ambient ?? []).filter { !keep.contains($0) && capValue($0) != nil }
    }

    static func capValue(_ name: String) -> cap_value_t? {
        var v = cap_value_t(0)
        let lower = name.lowercased()
        guard cap_from_name(lower, &v) == 0 else { return nil }
        return v < cap_max_bits() ? v : nil
    }

    /// Fails early (at create, as runc does) if the capability sets cannot be applied at start:
    /// a capability this process does not hold (e.g. one outside the host's bounding set)
    /// cannot enter the permitted, effective or inheritable set. Failing at start instead
    /// leaves containerd's shim with a task it can neither start nor delete (docker
    /// --privileged on a host without CAP_SYS_RESOURCE).
    static func checkCapabilities(_ caps: Capabilities?) throws {
        guard let caps else { return }
        guard let current = cap_get_proc() else { throw SysError("capabilities: cap_get_proc") }
        defer { cap_free(UnsafeMutableRawPointer(current)) }
        let permitted = Set((caps.permitted ?? []).compactMap(capValue))
        var missing: [(name: String, sets: [String])] = []
        for (field, names) in [("effective", caps.effective), ("permitted", caps.permitted), ("inheritable", caps.inheritable)] {
            for name in names ?? [] {
                guard let v = capValue(name) else { continue } // unknown names: warned about at create
                var held = CAP_CLEAR
                if cap_get_flag(current, v, CAP_PERMITTED, &held) != 0 || held != CAP_SET {
                    if let i = missing.firstIndex(where: { $0.name == name }) { missing[i].sets.append(field) } else { missing.append((name, [field])) }
                } else if field == "effective" && !permitted.contains(v) {
                    throw RuntimeError("process.capabilities.effective: \(name) is not in process.capabilities.permitted: operation not permitted (an effective capability must also be permitted)")
                }
            }
        }
        guard missing.isEmpty else {
            let list = missing.map { "\($0.name) (\($0.sets.joined(separator: ", ")))" }.joined(separator: ", ")
            throw RuntimeError("process.capabilities: cannot grant \(list): skiff does not hold \(missing.count == 1 ? "it" : "them") (outside this host's bounding set?): operation not permitted; remove \(missing.count == 1 ? "it" : "them") from the config")
        }
    }

    /// Switches to the process's user and capability sets, in the order that keeps the wanted
    /// capabilities across setuid: bounding set drop, keep-caps, groups/gid/uid, then the
    /// effective/permitted/inheritable sets, then ambient.
    static func becomeUser(_ process: OCISpec.Process, inUserNS: Bool, setgroupsAllowed: Bool) throws {
        let caps = process.capabilities
        // A missing list in a present `capabilities` object is an empty set, as in runc:
        // docker and podman send `"capabilities": {}` for --cap-drop ALL (Go omits empty lists).
        if let caps {
            let keep = Set((caps.bounding ?? []).compactMap(capValue))
            for c in 0..<cap_max_bits() where !keep.contains(c) {
                if cap_drop_bound(c) != 0 { throw SysError("process.capabilities.bounding: drop capability \(c)") }
            }
        }
        if caps != nil { try sys("prctl(PR_SET_KEEPCAPS)") { skiff_prctl(SKIFF_PR_SET_KEEPCAPS, 1, 0, 0, 0) } }
        let u = process.user
        if setgroupsAllowed && !Rootless.setgroupsAllowed && !u.additionalGids.isEmpty {
            throw RuntimeError("process.user.additionalGids: setgroups is denied in this user namespace (its gid_map was written without newgidmap, by an unprivileged user), so \(u.additionalGids) cannot be set; install newgidmap (package uidmap) with ranges in /etc/subgid, or remove additionalGids")
        }
        if setgroupsAllowed && Rootless.setgroupsAllowed {
            let groups = u.additionalGids.map { gid_t($0) }
            if setgroups(groups.count, groups) != 0 {
                throw SysError("process.user.additionalGids: setgroups \(u.additionalGids)")
            }
        }
        if skiff_setresgid(u.gid, u.gid, u.gid) != 0 {
            let hint = inUserNS ? " (is gid \(u.gid) mapped in linux.gidMappings?)" : ""
            throw RuntimeError("process.user.gid: cannot switch to gid \(u.gid): \(SysError.text(errno))\(hint)")
        }
        if skiff_setresuid(u.uid, u.uid, u.uid) != 0 {
            let hint = inUserNS ? " (is uid \(u.uid) mapped in linux.uidMappings?)" : ""
            throw RuntimeError("process.user.uid: cannot switch to uid \(u.uid): \(SysError.text(errno))\(hint)")
        }
        guard let caps else { return }
        try sys("prctl(PR_SET_KEEPCAPS, 0)") { skiff_prctl(SKIFF_PR_SET_KEEPCAPS, 0, 0, 0, 0) }
        guard let c = cap_init() else { throw SysError("cap_init") }
        defer { cap_free(UnsafeMutableRawPointer(c)) }
        func set(_ names: [String]?, _ flag: cap_flag_t) {
            var values = (names ?? []).compactMap(capValue)
            if !values.isEmpty { cap_set_flag(c, flag, Int32(values.count), &values, CAP_SET) }
        }
        set(caps.effective, CAP_EFFECTIVE)
        set(caps.permitted, CAP_PERMITTED)
        set(caps.inheritable, CAP_INHERITABLE)
        if cap_set_proc(c) != 0 {
            let e = errno
            let hint = e == EPERM ? " (a capability outside the bounding set, or one this host does not grant, such as CAP_SYS_RESOURCE here)" : ""
            throw RuntimeError("process.capabilities: cannot apply the capability sets: \(SysError.text(e))\(hint)")
        }
        do {
            cap_reset_ambient()
            for v in raisableAmbient(caps).compactMap(capValue) where cap_set_ambient(v, CAP_SET) != 0 {
                throw RuntimeError("process.capabilities.ambient: cannot raise capability \(v): \(SysError.text(errno)) (an ambient capability must also be permitted and inheritable)")
            }
        }
    }
}

extension String {
    func replacingAll(_ a: Character, with b: Character) -> String {
        String(map { $0 == a ? b : $0 })
    }
}
