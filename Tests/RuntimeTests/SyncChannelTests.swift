import Glibc
import LinuxSys
@testable import Runtime
import Testing

@Suite struct SyncChannelTests {
    @Test func messagesRoundTrip() throws {
        for m: SyncMessage in [.go, .needMappings, .initPid(4242), .mountFD(7), .mountFD(-1), .pidKnown("{\"a\":1}"), .error("x: y"), .hookFailed("h"), .ready] {
            #expect(SyncMessage(bytes: ArraySlice(m.bytes)) == m)
        }
    }

    /// The race CI hit: the container process reports an error and exits while the parent is
    /// about to send. The parent must surface the child's error, not "Broken pipe".
    @Test func sendAfterThePeerFailedThrowsThePeersError() throws {
        let (parent, child) = try SyncChannel.pair()
        defer { parent.close() }
        try child.send(.error("mounts[7].source: \"/no-such-source\" does not exist"))
        child.close()
        do {
            try parent.send(.pidKnown("{}"))
            Issue.record("send to a closed peer succeeded")
        } catch let e as RuntimeError {
            #expect(e.description.contains("mounts[7].source"))
        }
    }

    @Test func sendToAPeerThatExitedSilentlyIsASysError() throws {
        let (parent, child) = try SyncChannel.pair()
        defer { parent.close() }
        child.close()
        #expect(throws: SysError.self) { try parent.send(.go) }
    }
}
