import Foundation
import Testing
@testable import OCISpec

// The runtime-spec's own schema test configs (schema/test/config/{good,bad}), Linux ones only.

@Test func goodMinimal() throws {
    let spec = try Spec.parse(specTestFile("good/minimal.json"))
    #expect(spec.ociVersion == "1.0.0")
    #expect(spec.root?.path == "rootfs")
    #expect(spec.root?.readonly == false)
    #expect(spec.process == nil)
    #expect(spec.linux == nil)
    #expect(spec.mounts.isEmpty)
    #expect(spec.hooks == nil)
    #expect(spec.annotations.isEmpty)
}

@Test func goodMinimalForStart() throws {
    let spec = try Spec.parse(specTestFile("good/minimal-for-start.json"))
    let p = try #require(spec.process)
    #expect(p.cwd == "/")
    #expect(p.args == ["sh"])
    #expect(p.user.uid == 0 && p.user.gid == 0)
    #expect(p.user.umask == nil)
    #expect(p.user.additionalGids.isEmpty)
    #expect(p.terminal == false)
    #expect(p.noNewPrivileges == false)
    #expect(p.capabilities == nil)
    #expect(p.env.isEmpty)
}

@Test func goodSpecExample() throws {
    let spec = try Spec.parse(specTestFile("good/spec-example.json"))
    #expect(spec.ociVersion == "0.5.0-dev")
    #expect(spec.hostname == "slartibartfast")
    #expect(spec.domainname == "foobarbaz.test")
    #expect(spec.root?.readonly == true)

    let p = try #require(spec.process)
    #expect(p.terminal)
    #expect(p.user.uid == 1 && p.user.gid == 1)
    #expect(p.user.additionalGids == [5, 6])
    #expect(p.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"])
    #expect(p.capabilities?.bounding == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    #expect(p.capabilities?.effective == ["CAP_AUDIT_WRITE", "CAP_KILL"])
    #expect(p.capabilities?.ambient == ["CAP_NET_BIND_SERVICE"])
    #expect(p.rlimits.map(\.type) == ["RLIMIT_CORE", "RLIMIT_NOFILE"])
    #expect(p.rlimits.map(\.resource) == [4, 7])
    #expect(p.rlimits[1].hard == 1024 && p.rlimits[1].soft == 1024)
    #expect(p.apparmorProfile == "acme_secure_profile")
    #expect(p.selinuxLabel == "system_u:system_r:svirt_lxc_net_t:s0:c124,c675")
    #expect(p.noNewPrivileges)

    #expect(spec.mounts.count == 7)
    #expect(spec.mounts[0].destination == "/proc" && spec.mounts[0].type == "proc" && spec.mounts[0].source == "proc")
    #expect(spec.mounts[2].options == ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"])
    #expect(spec.mounts[6].destination == "/sys/fs/cgroup")

    let hooks = try #require(spec.hooks)
    #expect(hooks.prestart.map(\.path) == ["/usr/bin/fix-mounts", "/usr/bin/setup-network"])
    #expect(hooks.prestart[0].args == ["fix-mounts", "arg1", "arg2"])
    #expect(hooks.prestart[0].env == ["key1=value1"])
    #expect(hooks.createRuntime.count == 2)
    #expect(hooks.createContainer.map(\.path) == ["/usr/bin/mount-hook"])
    #expect(hooks.startContainer.map(\.path) == ["/usr/bin/refresh-ldcache"])
    #expect(hooks.poststart[0].timeout == 5)
    #expect(hooks.poststop[0].args == ["cleanup.sh", "-f"])

    let linux = try #require(spec.linux)
    #expect(linux.devices.count == 2)
    #expect(linux.devices[0].path == "/dev/fuse" && linux.devices[0].type == "c")
    #expect(linux.devices[0].major == 10 && linux.devices[0].minor == 229)
    #expect(linux.devices[0].fileMode == 438 && linux.devices[0].uid == 0 && linux.devices[0].gid == 0)
    #expect(linux.uidMappings.count == 1)
    #expect(linux.uidMappings[0].hostID == 1000 && linux.uidMappings[0].size == 32000)
    #expect(linux.gidMappings[0].containerID == 0)
    #expect(linux.sysctl.map(\.0) == ["net.ipv4.ip_forward", "net.core.somaxconn"])
    #expect(linux.sysctl.map(\.1) == ["1", "256"])
    #expect(linux.cgroupsPath == "/myRuntime/myContainer")
    #expect(linux.rootfsPropagation == "slave")
    #expect(linux.namespaces.map(\.type) == [.pid, .network, .ipc, .uts, .mount, .user, .cgroup, .time])
    #expect(linux.namespaces.allSatisfy { $0.path == nil })
    #expect(linux.namespace(.user) != nil)
    #expect(linux.maskedPaths.first == "/proc/kcore")
    #expect(linux.readonlyPaths.count == 6)
    #expect(linux.mountLabel == "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811")
    #expect(linux.timeOffsets.map(\.clock) == ["monotonic", "boottime"])
    #expect(linux.timeOffsets.map(\.secs) == [172800, 604800])

    let res = try #require(linux.resources)
    #expect(res.network?.classID == 1048577)
    #expect(res.network?.priorities.map(\.name) == ["eth0", "eth1"])
    #expect(res.network?.priorities.map(\.priority) == [500, 1000])
    #expect(res.pids?.limit == 32771)
    #expect(res.hugepageLimits.map(\.pageSize) == ["2MB", "64KB"])
    #expect(res.hugepageLimits[0].limit == 9223372036854772000)
    let mem = try #require(res.memory)
    #expect(mem.limit == 536870912 && mem.reservation == 536870912 && mem.swap == 536870912)
    #expect(mem.kernel == -1 && mem.kernelTCP == -1)
    #expect(mem.swappiness == 0)
    #expect(mem.disableOOMKiller == false && mem.useHierarchy == false && mem.checkBeforeUpdate == false)
    let cpu = try #require(res.cpu)
    #expect(cpu.shares == 1024 && cpu.quota == 1000000 && cpu.burst == 1000000 && cpu.period == 500000)
    #expect(cpu.realtimeRuntime == 950000 && cpu.realtimePeriod == 1000000)
    #expect(cpu.cpus == "2-3" && cpu.mems == "0-7" && cpu.idle == nil)
    #expect(res.devices.count == 3)
    #expect(res.devices[0].allow == false && res.devices[0].type == nil && res.devices[0].access == "rwm")
    #expect(res.devices[1].type == "c" && res.devices[1].major == 10 && res.devices[1].minor == 229)
    let bio = try #require(res.blockIO)
    #expect(bio.weight == 10 && bio.leafWeight == 10)
    #expect(bio.weightDevice.count == 2)
    #expect(bio.weightDevice[0].leafWeight == 300 && bio.weightDevice[1].leafWeight == nil)
    #expect(bio.throttleReadBpsDevice.map(\.rate) == [600])
    #expect(bio.throttleWriteIOPSDevice.map(\.minor) == [16])
    #expect(bio.throttleWriteBpsDevice.isEmpty && bio.throttleReadIOPSDevice.isEmpty)

    let sc = try #require(linux.seccomp)
    #expect(sc.defaultAction == .allow)
    #expect(sc.architectures == ["SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    #expect(sc.syscalls.count == 1)
    #expect(sc.syscalls[0].names == ["getcwd", "chmod"])
    #expect(sc.syscalls[0].action == .errno)
    #expect(sc.syscalls[0].errnoRet == nil)

    #expect(spec.annotations.map(\.0) == ["com.example.key1", "com.example.key2"])
    #expect(spec.annotation("com.example.key2") == "value2")
}

@Test func goodLinuxNetDevice() throws {
    let spec = try Spec.parse(specTestFile("good/linux-netdevice.json"))
    let nd = try #require(spec.linux?.netDevices)
    #expect(nd.map(\.0) == ["eth0", "ens4", "ens5"])
    #expect(nd.map(\.1.name) == ["container_eth0", nil, nil])
}

@Test func goodLinuxRdma() throws {
    let spec = try Spec.parse(specTestFile("good/linux-rdma.json"))
    let rdma = try #require(spec.linux?.resources?.rdma)
    #expect(rdma.map(\.0) == ["mlx5_1", "mlx4_0", "rxe3"])
    #expect(rdma[0].1.hcaHandles == 3 && rdma[0].1.hcaObjects == 10000)
    #expect(rdma[1].1.hcaHandles == nil && rdma[1].1.hcaObjects == 1000)
}

@Test func badInvalidJSON() throws {
    #expect(specError(try specTestFile("bad/invalid-json.json"))
        == "not valid JSON: line 1, column 2: unexpected ']', expected a member name in double quotes")
}

@Test func badLinuxHugepage() throws {
    // "64kB": the unit must be KB, MB or GB (schema pattern ^[1-9][0-9]*[KMG]B$).
    #expect(specError(try specTestFile("bad/linux-hugepage.json"))
        == #"linux.resources.hugepageLimits[0].pageSize: invalid page size "64kB" (expected a number followed by KB, MB or GB, such as "2MB")"#)
}

@Test func badLinuxRdma() throws {
    #expect(specError(try specTestFile("bad/linux-rdma.json"))
        == #"linux.resources.rdma.mlx5_1.hcaHandles: expected an integer, got a string "not a uint32""#)
}

@Test func badLinuxNetDevice() throws {
    #expect(specError(try specTestFile("bad/linux-netdevice.json"))
        == "linux.netDevices.eth0.name: expected a string, got a number 23")
}
