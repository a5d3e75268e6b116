import Foundation
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

    /// A state with 300 KB of annotations (fuzz/BUGS.md #6): once "Message too long", now sent
    /// in packets and received whole.
    @Test func aMessageLargerThanTheSocketBufferArrivesWhole() throws {
        let (parent, child) = try SyncChannel.pair()
        defer { parent.close(); child.close() }
        let big = "{\"annotations\":{\"a\":\"" + String(repeating: "x", count: 300_000) + "\"}}"
        let sender = Thread { try? parent.send(.pidKnown(big)); try? parent.send(.ready) }
        sender.start()
        #expect(try child.receive() == .pidKnown(big))
        #expect(try child.receive() == .ready)
    }
}
