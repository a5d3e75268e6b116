import Foundation
import Testing
@testable import OCISpec

// Targeted decoding cases; each asserts the exact text the user sees.

// MARK: - Types at several depths

@Test func wrongTypeAtTop() {
    #expect(specError(#"{"ociVersion": 1}"#) == "ociVersion: expected a string, got a number 1")
    #expect(specError("[]") == "expected an object, got an array")
}

@Test func wrongTypeInProcess() {
    #expect(specError(configWithProcess(#""terminal": "yes""#))
        == #"process.terminal: expected true or false, got a string "yes""#)
    #expect(specError(configWithProcess(#""capabilities": {"bounding": "CAP_KILL"}"#))
        == #"process.capabilities.bounding: expected an array, got a string "CAP_KILL""#)
}

@Test func wrongTypeDeepInResources() {
    #expect(specError(configWithLinux(#""resources": {"memory": {"limit": "1G"}}"#))
        == #"linux.resources.memory.limit: expected an integer, got a string "1G""#)
    #expect(specError(configWithLinux(#""resources": {"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 70000}]}}"#))
        == "linux.resources.blockIO.weightDevice[0].weight: 70000 is out of range (0 to 65535)")
}

@Test func wrongTypeInSeccompArgs() {
    let seccomp = #""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}"#
    #expect(specError(configWithLinux(seccomp))
        == "linux.seccomp.syscalls[0].args[0].value: -1 is out of range (0 to 18446744073709551615)")
}

@Test func wrongTypeInArrayElement() {
    #expect(specError(config(#""mounts": [{"destination": "/a"}, {"destination": "/b", "options": ["ro", 1]}]"#))
        == "mounts[1].options[1]: expected a string, got a number 1")
    #expect(specError(config(#""annotations": {"com.example": 1}"#))
        == "annotations.com.example: expected a string, got a number 1")
}

// MARK: - Numbers

@Test func uidOutOfRange() {
    #expect(specError(configWithProcess(user: #"{"uid": -1, "gid": 0}"#))
        == "process.user.uid: -1 is out of range (0 to 4294967295)")
    #expect(specError(configWithProcess(user: #"{"uid": 4294967296, "gid": 0}"#))
        == "process.user.uid: 4294967296 is out of range (0 to 4294967295)")
    #expect(specError(configWithProcess(user: #"{"uid": 4294967295, "gid": 0}"#)) == "no error")
}

@Test func fractionalNumber() {
    #expect(specError(configWithProcess(user: #"{"uid": 0, "gid": 1.5}"#))
        == "process.user.gid: expected a whole number, got 1.5")
    #expect(specError(configWithProcess(user: #"{"uid": 0, "gid": 1e3}"#))
        == "process.user.gid: expected a whole number, got 1e3")
}

@Test func bigMemoryLimitIsExact() throws {
    let spec = try Spec.parse(configWithLinux(#""resources": {"memory": {"limit": 9223372036854775807, "swap": -9223372036854775808}}"#))
    #expect(spec.linux?.resources?.memory?.limit == Int64.max)
    #expect(spec.linux?.resources?.memory?.swap == Int64.min)
    let big = try Spec.parse(configWithLinux(#""resources": {"hugepageLimits": [{"pageSize": "1GB", "limit": 18446744073709551615}]}"#))
    #expect(big.linux?.resources?.hugepageLimits.first?.limit == UInt64.max)
    #expect(specError(configWithLinux(#""resources": {"memory": {"limit": 9223372036854775808}}"#))
        == "linux.resources.memory.limit: 9223372036854775808 is out of range (-9223372036854775808 to 9223372036854775807)")
}

// MARK: - Broken JSON

@Test func brokenJSONHasLineAndColumn() {
    let text = "{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {\"path\": \"rootfs\"\n}"
    #expect(specError(text) == "not valid JSON: line 4, column 2: unexpected end of input inside an object")
    #expect(specError(#"{"ociVersion": "1.0.0",}"#)
        == "not valid JSON: line 1, column 24: unexpected '}', expected a member name in double quotes")
    #expect(specError(#"{"ociVersion":"1.0.0","ociVersion":"1.0.1"}"#)
        == #"not valid JSON: line 1, column 23: duplicate member "ociVersion""#)
    let e = #expect(throws: DecodeError.self) { try Spec.parse("{]") }
    #expect(e?.path == "")
}

// MARK: - Absent, null and unknown

@Test func unknownFieldsAreIgnored() throws {
    let text = #"""
    {"ociVersion": "1.2.0", "root": {"path": "rootfs", "zzz": 1}, "foo": {"bar": [1, 2]},
     "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0, "sid": "x"}, "newFlag": true},
     "windows": {"layerFolders": 7}, "solaris": "x",
     "linux": {"newThing": true, "resources": {"memory": {"limit": 1, "future": "yes"}, "oomScoreAdj": 100}}}
    """#
    let spec = try Spec.parse(text)
    #expect(spec.root?.path == "rootfs")
    #expect(spec.linux?.resources?.memory?.limit == 1)
}

@Test func nullIsTreatedAsAbsent() throws {
    let text = #"""
    {"ociVersion": "1.0.0", "root": {"path": "rootfs", "readonly": null}, "hostname": null, "mounts": null,
     "hooks": {"prestart": null}, "annotations": null,
     "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0, "umask": null, "additionalGids": null},
                 "terminal": null, "env": null, "capabilities": {"bounding": null, "effective": []}, "oomScoreAdj": null},
     "linux": {"namespaces": null, "seccomp": null, "resources": {"memory": {"limit": null}, "devices": null}}}
    """#
    let spec = try Spec.parse(text)
    #expect(spec.root?.readonly == false)
    #expect(spec.hostname == nil)
    #expect(spec.mounts.isEmpty)
    #expect(spec.hooks?.prestart.isEmpty == true)
    #expect(spec.annotations.isEmpty)
    let p = try #require(spec.process)
    #expect(p.terminal == false && p.env.isEmpty && p.oomScoreAdj == nil)
    #expect(p.user.umask == nil && p.user.additionalGids.isEmpty)
    #expect(p.capabilities?.bounding == nil)
    #expect(p.capabilities?.effective == [])
    #expect(p.capabilities?.ambient == nil)
    #expect(spec.linux?.namespaces.isEmpty == true)
    #expect(spec.linux?.seccomp == nil)
    #expect(spec.linux?.resources?.memory?.limit == nil)
    // A required member that is null is missing.
    #expect(specError(#"{"ociVersion": "1.0.0", "root": {"path": null}}"#) == "root.path: is required but missing")
}

@Test func capabilityNamesAreNotChecked() throws {
    let spec = try Spec.parse(configWithProcess(#""capabilities": {"bounding": ["CAP_FUTURE_THING"]}"#))
    #expect(spec.process?.capabilities?.bounding == ["CAP_FUTURE_THING"])
}

// MARK: - Version

@Test func ociVersion() {
    #expect(specError(#"{"ociVersion": "2.0.0"}"#)
        == #"ociVersion: unsupported version "2.0.0": skiff implements runtime-spec 1.0 to 1.3"#)
    #expect(specError(#"{"ociVersion": "1.0"}"#)
        == #"ociVersion: "1.0" is not a valid version (expected a SemVer version such as "1.3.0")"#)
    #expect(specError(#"{"ociVersion": "01.0.0"}"#)
        == #"ociVersion: "01.0.0" is not a valid version (expected a SemVer version such as "1.3.0")"#)
    #expect(specError(#"{"root": {"path": "rootfs"}}"#) == "ociVersion: is required but missing")
    #expect(specError(#"{"ociVersion": "1.2.1-rc.1+build.5"}"#) == "no error")
    #expect(specError(#"{"ociVersion": "1.0.2-dev"}"#) == "no error")
}

// MARK: - Required values and paths

@Test func missingRootPath() {
    #expect(specError(#"{"ociVersion": "1.0.0", "root": {"readonly": true}}"#) == "root.path: is required but missing")
}

@Test func processRequirements() {
    #expect(specError(configWithProcess(cwd: #""tmp""#))
        == #"process.cwd: "tmp" is not an absolute path (the working directory must start with "/")"#)
    #expect(specError(config(#""process": {"cwd": "/", "args": ["sh"]}"#)) == "process.user: is required but missing")
    #expect(specError(config(#""process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"]}"#)) == "process.cwd: is required but missing")
    #expect(specError(configWithProcess(user: #"{"gid": 0}"#)) == "process.user.uid: is required but missing")
    #expect(specError(configWithProcess(args: "[]"))
        == "process.args: must contain at least one entry (the first entry is the program to run)")
    #expect(specError(configWithProcess(#""env": ["A=1", "FOO"]"#))
        == #"process.env[1]: "FOO" has no "=" (environment entries have the form NAME=VALUE)"#)
}

@Test func hookPathAndTimeout() {
    #expect(specError(config(#""hooks": {"poststart": [{"path": "/bin/true"}, {"path": "notify"}]}"#))
        == #"hooks.poststart[1].path: "notify" is not an absolute path (a hook path must start with "/")"#)
    #expect(specError(config(#""hooks": {"prestart": [{"path": "/bin/true", "timeout": 0}]}"#))
        == "hooks.prestart[0].timeout: must be greater than zero, got 0 (the number of seconds before the hook is aborted)")
    #expect(specError(config(#""hooks": {"createRuntime": [{"args": ["x"]}]}"#))
        == "hooks.createRuntime[0].path: is required but missing")
}

@Test func mountRules() throws {
    #expect(specError(config(#""mounts": [{"destination": "/a"}, {"source": "/b"}]"#))
        == "mounts[1].destination: is required but missing")
    // Relative destinations are deprecated but allowed on Linux (config.md).
    let spec = try Spec.parse(config(#""mounts": [{"destination": "data", "type": "none", "source": "/x", "options": ["rbind"]}]"#))
    #expect(spec.mounts[0].destination == "data")
    #expect(specError(config(#""mounts": [{"destination": "/a", "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]"#))
        == "mounts[0].gidMappings: is required when uidMappings is set (an idmapped mount needs both uidMappings and gidMappings)")
}

// MARK: - Namespaces

@Test func unknownNamespace() {
    #expect(specError(configWithLinux(#""namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "pdi"}]"#))
        == #"linux.namespaces[2].type: unknown namespace "pdi" (expected one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")"#)
}

@Test func duplicateNamespace() {
    #expect(specError(configWithLinux(#""namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "pid"}]"#))
        == #"linux.namespaces[3].type: namespace "pid" is listed twice (first at linux.namespaces[0])"#)
}

@Test func namespacePathMustBeAbsolute() throws {
    #expect(specError(configWithLinux(#""namespaces": [{"type": "network", "path": "netns/a"}]"#))
        == #"linux.namespaces[0].path: "netns/a" is not an absolute path (a namespace path must start with "/")"#)
    let spec = try Spec.parse(configWithLinux(#""namespaces": [{"type": "network", "path": "/var/run/netns/a"}]"#))
    #expect(spec.linux?.namespace(.network)?.path == "/var/run/netns/a")
}

// MARK: - Rlimits

@Test func duplicateRlimit() {
    let rl = #""rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1}, {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}, {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 2}]"#
    #expect(specError(configWithProcess(rl))
        == #"process.rlimits[2].type: rlimit "RLIMIT_NOFILE" is listed twice (first at process.rlimits[0])"#)
}

@Test func unknownRlimit() {
    let names = RlimitType.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
    #expect(specError(configWithProcess(#""rlimits": [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]"#))
        == #"process.rlimits[0].type: unknown rlimit "RLIMIT_FOO" (expected one of "# + names + ")")
    #expect(names.hasPrefix(#""RLIMIT_CPU", "RLIMIT_FSIZE""#))
    #expect(specError(configWithProcess(#""rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1}]"#))
        == "process.rlimits[0].hard: is required but missing")
}

@Test func rlimitNumbers() throws {
    let spec = try Spec.parse(configWithProcess(#""rlimits": [{"type": "RLIMIT_CPU", "hard": 1, "soft": 1}, {"type": "RLIMIT_AS", "hard": 18446744073709551615, "soft": 1}, {"type": "RLIMIT_RTTIME", "hard": 1, "soft": 1}]"#))
    let rl = try #require(spec.process?.rlimits)
    #expect(rl.map(\.resource) == [0, 9, 15])
    #expect(rl[1].hard == UInt64.max)
    #expect(RlimitType.nofile.number == 7 && RlimitType.msgqueue.number == 12)
    #expect(Rlimit(type: "RLIMIT_BOGUS").resource == -1)
}

// MARK: - Devices

@Test func deviceType() {
    #expect(specError(configWithLinux(#""devices": [{"type": "x", "path": "/dev/x", "major": 1, "minor": 1}]"#))
        == #"linux.devices[0].type: unknown device type "x" (expected one of "c", "b", "u", "p")"#)
    #expect(specError(configWithLinux(#""devices": [{"type": "c", "path": "/dev/fuse", "minor": 229}]"#))
        == #"linux.devices[0].major: is required but missing (major and minor are required for device type "c")"#)
    #expect(specError(configWithLinux(#""devices": [{"type": "c", "major": 1, "minor": 3}]"#))
        == "linux.devices[0].path: is required but missing")
    #expect(specError(configWithLinux(#""devices": [{"type": "p", "path": "/dev/fifo"}]"#)) == "no error")
}

@Test func deviceRules() {
    #expect(specError(configWithLinux(#""resources": {"devices": [{"allow": true, "access": "rwx"}]}"#))
        == #"linux.resources.devices[0].access: invalid access "rwx" (expected a combination of "r", "w" and "m")"#)
    #expect(specError(configWithLinux(#""resources": {"devices": [{"allow": false}, {"allow": true, "type": "p"}]}"#))
        == #"linux.resources.devices[1].type: unknown device rule type "p" (expected one of "a", "c", "b")"#)
    #expect(specError(configWithLinux(#""resources": {"devices": [{"access": "r"}]}"#))
        == "linux.resources.devices[0].allow: is required but missing")
}

// MARK: - Other linux values

@Test func timeOffsets() throws {
    let spec = try Spec.parse(configWithLinux(#""timeOffsets": {"boottime": {"secs": -5, "nanosecs": 999999999}, "monotonic": {"secs": 9223372036854775807}}"#))
    let t = try #require(spec.linux?.timeOffsets)
    #expect(t.map(\.clock) == ["boottime", "monotonic"])
    #expect(t[0].secs == -5 && t[0].nanosecs == 999999999)
    #expect(t[1].secs == Int64.max && t[1].nanosecs == 0)
    #expect(specError(configWithLinux(#""timeOffsets": {"realtime": {"secs": 1}}"#))
        == #"linux.timeOffsets.realtime: unknown clock "realtime" (expected one of "monotonic", "boottime")"#)
    #expect(specError(configWithLinux(#""timeOffsets": {"monotonic": {"nanosecs": 1000000000}}"#))
        == "linux.timeOffsets.monotonic.nanosecs: 1000000000 is out of range (0 to 999999999) (put whole seconds in secs)")
    #expect(specError(configWithLinux(#""timeOffsets": {"monotonic": {"secs": "1"}}"#))
        == #"linux.timeOffsets.monotonic.secs: expected an integer, got a string "1""#)
}

@Test func rootfsPropagation() throws {
    #expect(specError(configWithLinux(#""rootfsPropagation": "sharde""#))
        == #"linux.rootfsPropagation: unknown rootfs propagation "sharde" (expected one of "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable")"#)
    #expect(try Spec.parse(configWithLinux(#""rootfsPropagation": "rslave""#)).linux?.rootfsPropagation == "rslave")
}

@Test func personality() throws {
    #expect(specError(configWithLinux(#""personality": {"domain": "LINUX64"}"#))
        == #"linux.personality.domain: unknown personality domain "LINUX64" (expected one of "LINUX", "LINUX32")"#)
    #expect(specError(configWithLinux(#""personality": {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}"#))
        == #"linux.personality.flags[0]: unknown personality flag "ADDR_NO_RANDOMIZE" (runtime-spec 1.3 defines no personality flags)"#)
    #expect(try Spec.parse(configWithLinux(#""personality": {"domain": "LINUX32"}"#)).linux?.personality?.domain == "LINUX32")
}

@Test func netDeviceNames() {
    #expect(specError(configWithLinux(#""netDevices": {"eth0": {"name": "a/b"}}"#))
        == #"linux.netDevices.eth0.name: invalid network interface name "a/b" (interface names have 1 to 15 bytes, are not "." or "..", and contain no "/", ":" or white space)"#)
    #expect(specError(configWithLinux(#""netDevices": {"averyveryverylongname": {}}"#))
        == #"linux.netDevices.averyveryverylongname: invalid network interface name "averyveryverylongname" (interface names have 1 to 15 bytes, are not "." or "..", and contain no "/", ":" or white space)"#)
    #expect(specError(configWithLinux(#""netDevices": {"eth0": {"name": "ctr%d"}}"#)) == "no error")
}

@Test func hugepageAndRdma() {
    #expect(specError(configWithLinux(#""resources": {"hugepageLimits": [{"pageSize": "2MB"}]}"#))
        == "linux.resources.hugepageLimits[0].limit: is required but missing")
    #expect(specError(configWithLinux(#""resources": {"rdma": {"mlx5_1": {}}}"#))
        == "linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects")
}

@Test func processLinuxValues() throws {
    #expect(specError(configWithProcess(#""ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}"#))
        == "process.ioPriority.priority: 8 is out of range (0 to 7) (0 is the highest priority, 7 the lowest)")
    #expect(specError(configWithProcess(#""ioPriority": {"class": "BE"}"#))
        == #"process.ioPriority.class: unknown I/O priority class "BE" (expected one of "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE")"#)
    #expect(specError(configWithProcess(#""scheduler": {"policy": "SCHED_OTHER", "nice": 20}"#))
        == "process.scheduler.nice: 20 is out of range (-20 to 19)")
    #expect(specError(configWithProcess(#""oomScoreAdj": 1001"#))
        == "process.oomScoreAdj: 1001 is out of range (-1000 to 1000) (see oom_score_adj in proc(5))")
    #expect(specError(configWithProcess(#""execCPUAffinity": {"initial": "0-3;7"}"#))
        == #"process.execCPUAffinity.initial: invalid list "0-3;7" (expected numbers and ranges separated by commas, such as "0-3,7")"#)
    let spec = try Spec.parse(configWithProcess(#"""
        "consoleSize": {"height": 25, "width": 80}, "oomScoreAdj": -1000,
        "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 4},
        "scheduler": {"policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK"], "runtime": 10, "deadline": 20, "period": 30},
        "execCPUAffinity": {"initial": "7", "final": "0-3,7"}
        """#))
    let p = try #require(spec.process)
    #expect(p.consoleSize?.height == 25 && p.consoleSize?.width == 80)
    #expect(p.oomScoreAdj == -1000)
    #expect(p.ioPriority?.ioClass == "IOPRIO_CLASS_IDLE" && p.ioPriority?.priority == 4)
    #expect(p.scheduler?.policy == "SCHED_DEADLINE" && p.scheduler?.period == 30)
    #expect(p.scheduler?.flags == ["SCHED_FLAG_RESET_ON_FORK"])
    #expect(p.execCPUAffinity?.initialCPUs == "7" && p.execCPUAffinity?.finalCPUs == "0-3,7")
}

// MARK: - Seccomp

@Test func unknownSeccompAction() {
    let all = SeccompAction.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_FOO"}"#))
        == #"linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_FOO" (expected one of "# + all + ")")
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "KILL"}]}"#))
        == #"linux.seccomp.syscalls[0].action: unknown seccomp action "KILL" (expected one of "# + all + ")")
    #expect(specError(configWithLinux(#""seccomp": {"syscalls": []}"#)) == "linux.seccomp.defaultAction: is required but missing")
}

@Test func badSeccompOperator() {
    let seccomp = #""seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_FOO"}]}]}"#
    #expect(specError(configWithLinux(seccomp))
        == #"linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_FOO" (expected one of "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")"#)
}

@Test func seccompValues() throws {
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "X86_64"]}"#))
        == #"linux.seccomp.architectures[1]: unknown seccomp architecture "X86_64" (architecture names start with "SCMP_ARCH_", such as "SCMP_ARCH_X86_64")"#)
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FOO"]}"#))
        == #"linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_FOO" (expected one of "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")"#)
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}"#))
        == "linux.seccomp.syscalls[0].errnoRet: cannot be used with action SCMP_ACT_ALLOW (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno)")
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}"#))
        == "linux.seccomp.syscalls[0].names: must contain at least one syscall name")
    #expect(specError(configWithLinux(#""seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#))
        == "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0 to 5) (a syscall has at most 6 arguments)")
    let spec = try Spec.parse(configWithLinux(#"""
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                    "listenerPath": "/run/agent.sock", "listenerMetadata": "m",
                    "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_NOTIFY",
                                  "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]}
        """#))
    let sc = try #require(spec.linux?.seccomp)
    #expect(sc.defaultErrnoRet == 38 && sc.flags == ["SECCOMP_FILTER_FLAG_LOG"])
    #expect(sc.listenerPath == "/run/agent.sock" && sc.listenerMetadata == "m")
    #expect(sc.syscalls[0].action == .notify)
    #expect(sc.syscalls[0].args[0].op == .maskedEqual && sc.syscalls[0].args[0].value == 2114060288)
}

// MARK: - Standalone documents

@Test func processDocument() throws {
    let p = try OCISpec.Process.parse(#"{"cwd": "/work", "args": ["ls", "-l"], "user": {"uid": 1000, "gid": 1000, "umask": 18}, "env": ["A=1"]}"#)
    #expect(p.cwd == "/work" && p.args == ["ls", "-l"] && p.user.umask == 18)
    #expect(documentError(#"{"cwd": "x", "args": ["sh"], "user": {"uid": 0, "gid": 0}}"#, as: OCISpec.Process.self)
        == #"cwd: "x" is not an absolute path (the working directory must start with "/")"#)
}

@Test func resourcesDocument() throws {
    let r = try Resources.parse(#"{"memory": {"limit": 1048576, "swap": -1}, "pids": {"limit": 0}, "unified": {"memory.high": "max"}}"#)
    #expect(r.memory?.limit == 1048576 && r.memory?.swap == -1 && r.pids?.limit == 0)
    #expect(r.unified.map(\.0) == ["memory.high"])
    #expect(documentError(#"{"memory": {"limit": "x"}}"#, as: Resources.self)
        == #"memory.limit: expected an integer, got a string "x""#)
    #expect(documentError(#"{"unified": {"../escape": "1"}}"#, as: Resources.self)
        == #"unified.../escape: invalid cgroup file name "../escape" (expected a file name of the form CONTROLLER.PARAMETER, such as "memory.max")"#)
}
