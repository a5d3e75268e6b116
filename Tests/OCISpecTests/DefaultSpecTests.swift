import Foundation
import Testing
@testable import OCISpec

@Test func defaultSpecParses() throws {
    let spec = try Spec.parse(DefaultSpec.json(rootless: false))
    #expect(spec.ociVersion == "1.3.0")
    #expect(spec.hostname == "runc")
    #expect(spec.root?.path == "rootfs" && spec.root?.readonly == true)
    let p = try #require(spec.process)
    #expect(p.terminal && p.noNewPrivileges)
    #expect(p.args == ["sh"] && p.cwd == "/")
    #expect(p.user.uid == 0 && p.user.gid == 0)
    #expect(p.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"])
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    #expect(p.capabilities?.bounding == caps && p.capabilities?.effective == caps)
    #expect(p.capabilities?.permitted == caps && p.capabilities?.ambient == caps)
    #expect(p.capabilities?.inheritable == nil)
    #expect(p.rlimits.count == 1 && p.rlimits[0].type == "RLIMIT_NOFILE" && p.rlimits[0].hard == 1024 && p.rlimits[0].soft == 1024)
    #expect(spec.mounts.map(\.destination) == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"])
    #expect(spec.mounts[5].type == "sysfs" && spec.mounts[5].options == ["nosuid", "noexec", "nodev", "ro"])
    #expect(spec.mounts[2].options.last == "gid=5")
    let linux = try #require(spec.linux)
    #expect(linux.namespaces.map(\.type) == [.pid, .network, .ipc, .uts, .mount])
    #expect(linux.resources?.devices.count == 1)
    #expect(linux.resources?.devices[0].allow == false && linux.resources?.devices[0].access == "rwm")
    #expect(linux.maskedPaths.count == 10 && linux.maskedPaths.last == "/proc/scsi")
    #expect(linux.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
    #expect(linux.uidMappings.isEmpty)
}

@Test func defaultSpecRootless() throws {
    let spec = try Spec.parse(DefaultSpec.json(rootless: true, hostUID: 1000, hostGID: 1001))
    #expect(spec.ociVersion == "1.3.0")
    let linux = try #require(spec.linux)
    #expect(linux.namespaces.map(\.type) == [.pid, .ipc, .uts, .mount, .user])
    #expect(linux.uidMappings.map(\.hostID) == [1000] && linux.uidMappings[0].containerID == 0 && linux.uidMappings[0].size == 1)
    #expect(linux.gidMappings.map(\.hostID) == [1001])
    #expect(linux.resources == nil)
    #expect(spec.mounts[5].type == "none" && spec.mounts[5].source == "/sys" && spec.mounts[5].options.first == "rbind")
    #expect(spec.mounts[2].options.contains("gid=5") == false)
    let own = try Spec.parse(DefaultSpec.json(rootless: true))
    #expect(own.linux?.uidMappings.first?.hostID == UInt32(geteuid()))
    #expect(own.linux?.gidMappings.first?.hostID == UInt32(getegid()))
}

/// Byte-for-byte the output of the installed runc 1.1 (apart from ociVersion), when it is there.
@Test func defaultSpecMatchesRunc() throws {
    let runc = ["/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let runc else { return }
    for rootless in [false, true] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skiff-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let proc = Foundation.Process()
        proc.executableURL = URL(fileURLWithPath: runc)
        proc.arguments = rootless ? ["spec", "--rootless"] : ["spec"]
        proc.currentDirectoryURL = dir
        try proc.run()
        proc.waitUntilExit()
        #expect(proc.terminationStatus == 0)
        var expected = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        // Only runc 1.1.x (spec 1.0.2-dev) is the reference; other versions print other defaults.
        guard let r = expected.range(of: #""ociVersion": "1.0.2-dev""#) else { return }
        expected.replaceSubrange(r, with: #""ociVersion": "1.3.0""#)
        #expect(DefaultSpec.json(rootless: rootless) == expected)
    }
}
