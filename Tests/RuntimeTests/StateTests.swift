import Glibc
import LinuxSys
import OCISpec
@testable import Runtime
import Testing

@Suite struct ContainerIDTests {
    @Test(arguments: ["a", "abc-DEF_1.2+3", String(repeating: "x", count: 255), "0123456789abcdef"])
    func goodIDs(_ id: String) throws {
        try StateStore.validate(id: id)
    }

    @Test(arguments: [
        ("", "container id is empty: give the container a name"),
        ("..", "invalid container id \"..\": \".\" and \"..\" are not names"),
        ("a/b", "invalid container id \"a/b\": \"/\" is not allowed (use letters, digits and _ + - .)"),
        ("a b", "invalid container id \"a b\": \" \" is not allowed (use letters, digits and _ + - .)"),
        (String(repeating: "x", count: 256), "container id is too long: 256 characters, the limit is 255"),
    ])
    func badIDs(_ id: String, _ message: String) {
        do {
            try StateStore.validate(id: id)
            Issue.record("\(id) was accepted")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func stateRoundTripsThroughJSON() throws {
        var s = ContainerState(id: "c1", bundle: "/b", rootfs: "/b/rootfs", ociVersion: "1.3.0", annotations: [("k", "v")])
        s.pid = 42
        s.startTime = 123456789012
        s.phase = .created
        s.cgroupPath = "/x/c1"
        s.cgroupCreated = ["/sys/fs/cgroup/pids/x", "/sys/fs/cgroup/pids/x/c1"]
        let back = try ContainerState(from: Node(try JSONParser.parse(s.json.serialized())))
        #expect(back.json == s.json)
        #expect(back.startTime == 123456789012)
    }

    @Test func aDeadPidReadsAsStopped() {
        var s = ContainerState(id: "c1", bundle: "/b", rootfs: "/b/rootfs", ociVersion: "1.3.0", annotations: [])
        s.phase = .running
        s.pid = getpid()
        s.startTime = Proc.startTime(getpid())! + 1 // a recycled pid: another start time
        #expect(s.status == .stopped)
        s.startTime = Proc.startTime(getpid())!
        #expect(s.status == .running)
        #expect(s.specState()["pid"] == .int(getpid()))
    }
}

@Suite struct SyncMessageTests {
    @Test(arguments: [SyncMessage.go, .needMappings, .mappingsDone, .initPid(123456), .pidKnown("{\"a\":1}"),
                      .runHooks, .hooksDone, .ready, .error("mounts[2]: x"), .hookFailed("hooks.x[0]: y")])
    func roundTrip(_ m: SyncMessage) {
        #expect(SyncMessage(bytes: m.bytes[...]) == m)
    }

    @Test func unknownTypeIsRejected() {
        #expect(SyncMessage(bytes: [99][...]) == nil)
        #expect(SyncMessage(bytes: [4, 1][...]) == nil)
    }
}
