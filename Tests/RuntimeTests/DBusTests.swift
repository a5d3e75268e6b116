import Cgroups
import OCISpec
import Testing

@Suite struct DBusTests {
    func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
    func str(_ s: String) -> [UInt8] { le32(UInt32(s.utf8.count)) + Array(s.utf8) + [0] }
    func pad(_ b: inout [UInt8], _ n: Int) { while b.count % n != 0 { b.append(0) } }

    /// A Hello call, byte by byte as the D-Bus specification lays it out.
    @Test func helloCallWireFormat() {
        var m = DBusMessage.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello")
        m.serial = 1
        var fields: [UInt8] = []
        func field(_ code: UInt8, _ sig: UInt8, _ value: String) {
            pad(&fields, 8)
            fields += [code, 1, sig, 0]
            fields += str(value)
        }
        field(1, UInt8(ascii: "o"), "/org/freedesktop/DBus")
        field(2, UInt8(ascii: "s"), "org.freedesktop.DBus")
        field(3, UInt8(ascii: "s"), "Hello")
        field(6, UInt8(ascii: "s"), "org.freedesktop.DBus")
        var want: [UInt8] = [UInt8(ascii: "l"), 1, 0, 1] + le32(0) + le32(1) + le32(UInt32(fields.count)) + fields
        pad(&want, 8)
        #expect(m.marshal() == want)
    }

    /// Arrays align their first element (a struct: 8) after the length, and the length does
    /// not count that padding.
    @Test func arrayOfStructsAlignment() {
        var e = DBusEncoder()
        e.encode(.string("ab"))  // 0..<7
        e.encode(.array("(sv)", [.structure([.string("A"), .variant(.uint64(5))])]))
        var want: [UInt8] = str("ab")
        pad(&want, 4)
        var elem: [UInt8] = str("A")  // at 16: 4+2 = 6 bytes
        elem += [1, UInt8(ascii: "t"), 0]  // variant signature "t", at 22..<25
        while (16 + elem.count) % 8 != 0 { elem.append(0) }
        elem += [5, 0, 0, 0, 0, 0, 0, 0]
        want += le32(UInt32(elem.count))  // 8..<12
        pad(&want, 8)  // element at 16
        want += elem
        #expect(e.bytes == want)
    }

    @Test func emptyArrayStillPadsToItsElementAlignment() {
        var e = DBusEncoder()
        e.encode(.byte(7))
        e.encode(.array("(sa(sv))", []))
        #expect(e.bytes == [7, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func startTransientUnitBodyRoundTrips() throws {
        let unit = SystemdUnit(slice: "system.slice", unit: "skiff-x.scope")
        var r = Resources()
        r.pids = PidsResources()
        r.pids?.limit = 17
        let props = unit.startProperties(pid: 4242, description: "skiff container x", resources: r, unified: true)
        let body: [DBusValue] = [.string(unit.unit), .string("replace"), .array("(sv)", props), .array("(sa(sv))", [])]
        var m = DBusMessage.call(destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1",
                                 interface: "org.freedesktop.systemd1.Manager", member: "StartTransientUnit", body)
        m.serial = 9
        let bytes = m.marshal()
        #expect(try DBusMessage.totalLength(head: Array(bytes[0..<16])) == bytes.count)
        let back = try DBusMessage.unmarshal(bytes)
        #expect(back.member == "StartTransientUnit" && back.serial == 9 && back.destination == "org.freedesktop.systemd1")
        #expect(back.body == body)
        #expect(body.map(\.signature).joined() == "ssa(sv)a(sa(sv))")
        #expect(props.contains(.structure([.string("PIDs"), .variant(.array("u", [.uint32(4242)]))])))
        #expect(props.contains(.structure([.string("Delegate"), .variant(.bool(true))])))
        #expect(props.contains(.structure([.string("TasksMax"), .variant(.uint64(17))])))
    }

    @Test func signalWithErrorAndReplyFieldsRoundTrips() throws {
        var m = DBusMessage(kind: .signal)
        m.serial = 77
        m.path = "/org/freedesktop/systemd1"
        m.interface = "org.freedesktop.systemd1.Manager"
        m.member = "JobRemoved"
        m.sender = ":1.0"
        m.body = [.uint32(12), .objectPath("/org/freedesktop/systemd1/job/12"), .string("a.scope"), .string("done")]
        let back = try DBusMessage.unmarshal(m.marshal())
        #expect(back.kind == .signal && back.member == "JobRemoved" && back.sender == ":1.0")
        #expect(back.body[1].stringValue == "/org/freedesktop/systemd1/job/12")
        #expect(back.body[3] == .string("done"))

        var err = DBusMessage(kind: .error)
        err.serial = 3
        err.replySerial = 2
        err.errorName = "org.freedesktop.systemd1.UnitExists"
        err.body = [.string("Unit a.scope already exists.")]
        let e = try DBusMessage.unmarshal(err.marshal())
        #expect(e.kind == .error && e.replySerial == 2 && e.errorName == "org.freedesktop.systemd1.UnitExists")
        #expect(e.body.first?.stringValue == "Unit a.scope already exists.")
    }

    @Test func truncatedAndForeignMessagesAreErrors() {
        let bytes = DBusMessage.call(destination: nil, path: "/", interface: "a.b", member: "C", [.string("x")]).marshal()
        #expect(throws: DBusError.self) { try DBusMessage.unmarshal(Array(bytes.dropLast(3))) }
        #expect(throws: DBusError.self) { try DBusMessage.totalLength(head: [UInt8](repeating: 0, count: 16)) }
        var decoder = DBusDecoder([1, 0, 0])
        #expect(throws: DBusError.self) { try decoder.decode(signature: "u") }
    }

    @Test func saslExternalSendsTheUidInHex() {
        #expect(DBusConnection.authLine(uid: 0) == "AUTH EXTERNAL 30\r\n")
        #expect(DBusConnection.authLine(uid: 1000) == "AUTH EXTERNAL 31303030\r\n")
    }

    // MARK: systemd paths and properties

    @Test func cgroupsPathSliceColonPrefixColonName() throws {
        let d = try SystemdUnit.parse(cgroupsPath: nil, id: "abc")
        #expect(d == SystemdUnit(slice: "system.slice", unit: "skiff-abc.scope"))
        #expect(d.cgroupPath == "/system.slice/skiff-abc.scope")
        let m = try SystemdUnit.parse(cgroupsPath: "machine-app.slice:p:n", id: "x")
        #expect(m.cgroupPath == "/machine.slice/machine-app.slice/p-n.scope")
        #expect(try SystemdUnit.parse(cgroupsPath: "-:p:n", id: "x").cgroupPath == "/p-n.scope")
        #expect(try SystemdUnit.parse(cgroupsPath: "user.slice::n", id: "x").unit == "n.scope")
        #expect(SystemdUnit.expandSlice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice")
    }

    @Test func malformedCgroupsPathsNameTheField() {
        for p in ["/a/b", "a:b", "a:b:c:d", "nope:p:n", "bad-.slice:p:n", "a--b.slice:p:n", "x/y.slice:p:n", "system.slice:p:", "system.slice:p:n.slice", "system.slice:p:a/b"] {
            #expect(throws: DecodeError.self, "\(p)") { try SystemdUnit.parse(cgroupsPath: p, id: "x") }
            do { _ = try SystemdUnit.parse(cgroupsPath: p, id: "x") } catch let e as DecodeError {
                #expect(e.path == "linux.cgroupsPath")
            } catch {}
        }
    }

    @Test func resourcePropertiesV1AndV2() {
        var r = Resources()
        r.memory = MemoryResources()
        r.memory?.limit = 1 << 25
        r.memory?.swap = 1 << 26
        r.cpu = CPUResources()
        r.cpu?.shares = 1024
        r.cpu?.quota = 12345
        r.cpu?.period = 100_000
        r.cpu?.cpus = "0-2,9"
        r.pids = PidsResources()
        r.pids?.limit = -1
        func names(_ p: [DBusValue]) -> [String] { p.compactMap { if case .structure(let f) = $0 { return f[0].stringValue }; return nil } }
        func value(_ p: [DBusValue], _ n: String) -> DBusValue? {
            for case .structure(let f) in p where f[0].stringValue == n { if case .variant(let v) = f[1] { return v } }
            return nil
        }
        let v2 = SystemdUnit.resourceProperties(r, unified: true)
        #expect(names(v2) == ["MemoryMax", "MemorySwapMax", "CPUWeight", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "AllowedCPUs", "TasksMax"])
        #expect(value(v2, "MemorySwapMax") == .uint64(1 << 25))
        #expect(value(v2, "CPUWeight") == .uint64(39))
        // 12345 µs per 100 ms = 123450 µs per second, rounded up to 10 ms steps.
        #expect(value(v2, "CPUQuotaPerSecUSec") == .uint64(130_000))
        #expect(value(v2, "AllowedCPUs") == .array("y", [.byte(0b111), .byte(0b10)]))
        #expect(value(v2, "TasksMax") == .uint64(.max))
        let v1 = SystemdUnit.resourceProperties(r, unified: false)
        #expect(names(v1) == ["MemoryLimit", "CPUShares", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "TasksMax"])
        #expect(value(v1, "CPUShares") == .uint64(1024))
        #expect(SystemdUnit.bitmask("x") == nil && SystemdUnit.bitmask("3-1") == nil)
    }
}
