import Glibc
import LinuxSys
import SkiffJSON
import Testing

@Suite struct LinuxSysTests {
    @Test(arguments: [("KILL", SIGKILL), ("SIGKILL", SIGKILL), ("sigterm", SIGTERM), ("9", SIGKILL), ("15", SIGTERM),
                      ("RTMIN", Int32(34)), ("RTMIN+2", Int32(36)), ("RTMAX-1", Int32(63))])
    func signalNames(_ text: String, _ n: Int32) {
        #expect(Signals.parse(text) == n)
    }

    @Test(arguments: ["", "0", "65", "SIGNOPE", "RTMIN-1", "-9"])
    func badSignals(_ text: String) {
        #expect(Signals.parse(text) == nil)
    }

    @Test func paths() {
        #expect(Files.clean("/a/./b/../c//d/") == "/a/c/d")
        #expect(Files.clean("/../../x") == "/x")
        #expect(Files.dirname("/a/b/c") == "/a/b")
        #expect(Files.dirname("/a") == "/")
        #expect(Files.basename("/a/b/") == "b")
    }

    @Test func rfc3339() {
        var ts = timespec()
        ts.tv_sec = 1_700_000_000
        ts.tv_nsec = 120_000_000
        #expect(Clock.rfc3339(ts) == "2023-11-14T22:13:20.12Z")
        ts.tv_nsec = 0
        #expect(Clock.rfc3339(ts) == "2023-11-14T22:13:20Z")
    }

    @Test func procStartTimeOfSelf() {
        #expect(Proc.startTime(getpid()) != nil)
        #expect(Proc.isAlive(getpid(), startTime: Proc.startTime(getpid())))
        #expect(!Proc.isAlive(getpid(), startTime: 1))
    }

    @Test func atomicWriteReplacesWholeFile() throws {
        let path = "/tmp/skiff-unit-\(getpid())"
        defer { unlink(path) }
        try Files.writeAtomic(path, "first version, long")
        try Files.writeAtomic(path, "second")
        #expect(try Files.read(path) == "second")
        #expect(!Files.exists(path + ".tmp\(getpid())"))
    }

    @Test func jsonWriterEscapes() throws {
        let v = JSON.object([("s", .string("a\"b\\c\n\u{1}é")), ("n", .number("-12")), ("a", .array([.bool(true), .null]))])
        let text = v.serialized()
        #expect(text == "{\"s\":\"a\\\"b\\\\c\\n\\u0001é\",\"n\":-12,\"a\":[true,null]}")
        #expect(try JSONParser.parse(text) == v)
    }
}
