import LinuxSys
import OCISpec
@testable import Runtime
import SkiffJSON
import Testing

/// The decoder and state fixes of fuzz/BUGS.md (issue 9).
@Suite struct ReliabilityTests {
    @Test func duplicateMembersAreFoundPastTheLinearScan() throws {
        var text = "{"
        for i in 0..<1000 { text += "\"k\(i)\": 1, " }
        text += "\"k500\": 2}"
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
        // 100000 distinct members parse (quickly: the check is a set, not a scan).
        let many = "{" + (0..<100_000).map { "\"k\($0)\":1" }.joined(separator: ",") + "}"
        guard case .object(let members) = try JSONParser.parse(many) else { Issue.record("not an object"); return }
        #expect(members.count == 100_000)
    }

    @Test func invalidUTF8IsRefusedWithItsPlace() {
        let bytes: [UInt8] = Array("{\"a\": \"x".utf8) + [0xFF] + Array("y\"}".utf8)
        do {
            _ = try JSONParser.parse(bytes: bytes)
            Issue.record("invalid UTF-8 accepted")
        } catch let e as JSONSyntaxError {
            #expect(e.line == 1 && e.column == 8) // where the string starts
            #expect(e.message.hasPrefix("invalid UTF-8"))
        } catch { Issue.record("\(error)") }
    }

    @Test func aNULInAStringIsRefusedWithItsPath() throws {
        let doc = try JSONParser.parse(#"{"args": ["sh", "x\u0000y"]}"#)
        do {
            _ = try Node(doc).object().strings("args")
            Issue.record("NUL accepted")
        } catch let e as DecodeError {
            #expect("\(e)".hasPrefix("args[1]: contains a NUL character"))
        }
    }

    @Test func longValuesAreCutInMessages() {
        let big = String(repeating: "a", count: 10_000_000)
        #expect(JSON.quoted(big).utf8.count < 210)
        #expect(q(big).utf8.count < 310)
    }

    @Test func aTruncatedStateStillNamesItsInitAndCgroup() {
        let full = #"{"pid":4242,"startTime":99887766,"cgroupPath":"/a/b","cgroupCreated":["/sys/fs/cgroup/pids/a","/sys/fs/cgroup/pids/a/b"],"ociVersion":"1.0.2","id":"x"#
        let s = StateStore.salvage(full)
        #expect(s.pid == 4242 && s.startTime == 99887766 && s.cgroupPath == "/a/b")
        #expect(s.cgroupCreated == ["/sys/fs/cgroup/pids/a", "/sys/fs/cgroup/pids/a/b"])
        // Cut inside the start time: neither it nor anything after it is guessed.
        let cut = StateStore.salvage(#"{"pid":4242,"startTime":9988"#)
        #expect(cut.pid == 4242 && cut.startTime == nil && cut.cgroupPath == nil)
        let cutArray = StateStore.salvage(#"{"pid":1,"startTime":2,"cgroupPath":"/a","cgroupCreated":["/x","/y"#)
        #expect(cutArray.cgroupPath == "/a" && cutArray.cgroupCreated == nil)
        // The systemd unit comes right after the cgroup (a damaged state still stops it).
        var st = ContainerState(id: "x", bundle: "/b", rootfs: "/b/r", ociVersion: "1.0.2", annotations: [])
        st.systemdUnit = "skiff-x.scope"
        let text = st.json.serialized()
        let unitCut = StateStore.salvage(String(text[..<text.firstRange(of: "\"ociVersion\"")!.lowerBound]))
        #expect(unitCut.systemdUnit == "skiff-x.scope")
    }
}
