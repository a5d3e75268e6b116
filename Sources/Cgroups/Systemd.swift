import Glibc
import LinuxSys
import OCISpec

/// The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup is a transient scope
/// unit that systemd creates over D-Bus (StartTransientUnit with the container's first pid,
/// Delegate=yes), placed in a slice. `linux.cgroupsPath` is "slice:prefix:name", as in runc:
/// unit "prefix-name.scope" in "slice" (empty: system.slice; "-": the root slice).
public struct SystemdUnit: Equatable {
    /// The slice unit, e.g. "system.slice" or "machine-app.slice".
    public let slice: String
    /// The scope unit, e.g. "skiff-abc.scope".
    public let unit: String

    public init(slice: String, unit: String) {
        self.slice = slice
        self.unit = unit
    }

    /// The unit's cgroup path (relative to each hierarchy's root), e.g.
    /// "/machine.slice/machine-app.slice/skiff-abc.scope".
    public var cgroupPath: String {
        let s = SystemdUnit.expandSlice(slice)
        return (s == "/" ? "" : s) + "/" + unit
    }

    public static let defaultPrefix = "skiff"

    /// Parses `linux.cgroupsPath` for the systemd driver; without one, ":skiff:<id>".
    public static func parse(cgroupsPath: String?, id: String) throws -> SystemdUnit {
        let p = (cgroupsPath ?? "").isEmpty ? ":\(defaultPrefix):\(id)" : cgroupsPath!
        let parts = p.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let field = "linux.cgroupsPath"
        guard parts.count == 3 else {
            throw DecodeError(path: field, "\(JSON.quoted(p)) is not a systemd path: --systemd-cgroup wants \"slice:prefix:name\"",
                              hint: "for example \"system.slice:skiff:\(id)\", or drop --systemd-cgroup to use a cgroupfs path")
        }
        var slice = parts[0]
        let prefix = parts[1], name = parts[2]
        if slice.isEmpty { slice = "system.slice" }
        if slice == "-" { slice = "-.slice" }
        guard slice.hasSuffix(".slice"), !slice.contains("/"), validUnitName(slice), (try? expandSliceChecked(slice)) != nil else {
            throw DecodeError(path: field, "\(JSON.quoted(p)): \(JSON.quoted(parts[0])) is not a valid slice name",
                              hint: "a slice is a unit name ending in \".slice\" with no \"/\", such as \"system.slice\" or \"machine-app.slice\"")
        }
        guard !name.isEmpty else {
            throw DecodeError(path: field, "\(JSON.quoted(p)): the name (after the second \":\") is empty")
        }
        if name.hasSuffix(".slice") {
            throw DecodeError(path: field, "\(JSON.quoted(p)): a name ending in \".slice\" (the container in a slice of its own) is not supported by skiff yet",
                              hint: "use a scope name, such as \"\(slice):\(prefix.isEmpty ? defaultPrefix : prefix):\(id)\"")
        }
        let unit = (prefix.isEmpty ? "" : prefix + "-") + name + ".scope"
        guard validUnitName(unit) else {
            throw DecodeError(path: field, "\(JSON.quoted(p)): \(JSON.quoted(unit)) is not a valid systemd unit name",
                              hint: "use letters, digits and \":-_.\\\" in the prefix and name")
        }
        return SystemdUnit(slice: slice, unit: unit)
    }

    /// systemd's unit name rules: at most 255 bytes, of [A-Za-z0-9:_.\-\\@].
    static func validUnitName(_ s: String) -> Bool {
        guard s.utf8.count <= 255, !s.isEmpty else { return false }
        return s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || ":_.-\\@".unicodeScalars.contains(c)
        }
    }

    /// The cgroup path of a slice: "a-b-c.slice" is "/a.slice/a-b.slice/a-b-c.slice"; "-.slice"
    /// (the root slice) is "/".
    public static func expandSlice(_ slice: String) -> String {
        (try? expandSliceChecked(slice)) ?? "/" + slice
    }

    static func expandSliceChecked(_ slice: String) throws -> String {
        if slice == "-.slice" { return "/" }
        guard slice.hasSuffix(".slice") else { throw DBusError("not a slice") }
        let stem = String(slice.dropLast(6))
        if stem.isEmpty || stem.hasPrefix("-") || stem.hasSuffix("-") || stem.contains("--") { throw DBusError("bad slice") }
        var path = "", prefix = ""
        for part in stem.split(separator: "-") {
            prefix += (prefix.isEmpty ? "" : "-") + part
            path += "/" + prefix + ".slice"
        }
        return path
    }

    // MARK: properties

    typealias Property = DBusValue

    static func prop(_ name: String, _ v: DBusValue) -> DBusValue { .structure([.string(name), .variant(v)]) }

    /// The unit's properties: placement, delegation, the first pid, accounting and the limits
    /// systemd understands (so that it never resets them); the rest skiff writes itself.
    public func startProperties(pid: pid_t, description: String, resources: Resources?, unified: Bool) -> [DBusValue] {
        var props: [DBusValue] = [
            SystemdUnit.prop("Description", .string(description)),
            SystemdUnit.prop("Slice", .string(slice)),
            SystemdUnit.prop("Delegate", .bool(true)),
            SystemdUnit.prop("DefaultDependencies", .bool(false)),
            SystemdUnit.prop("PIDs", .array("u", [.uint32(UInt32(pid))])),
            SystemdUnit.prop("MemoryAccounting", .bool(true)),
            SystemdUnit.prop("CPUAccounting", .bool(true)),
            SystemdUnit.prop("TasksAccounting", .bool(true)),
            SystemdUnit.prop(unified ? "IOAccounting" : "BlockIOAccounting", .bool(true)),
        ]
        if let r = resources { props += SystemdUnit.resourceProperties(r, unified: unified) }
        return props
    }

    /// The limits of `r` as systemd unit properties (runc's choice of names: the v2 names when
    /// systemd runs on the unified hierarchy, the v1 names otherwise).
    public static func resourceProperties(_ r: Resources, unified: Bool) -> [DBusValue] {
        var props: [DBusValue] = []
        func set<T: BinaryInteger>(_ v: T?) -> T? { v.flatMap { $0 == 0 ? nil : $0 } }
        func bytes(_ v: Int64) -> UInt64 { v < 0 ? UInt64.max : UInt64(v) }
        if let m = r.memory {
            if let l = set(m.limit) { props.append(prop(unified ? "MemoryMax" : "MemoryLimit", .uint64(bytes(l)))) }
            if unified, let low = set(m.reservation) { props.append(prop("MemoryLow", .uint64(bytes(low)))) }
            if unified, let s = set(m.swap) {
                // v2 swap is swap alone; the spec's is memory+swap.
                if s < 0 { props.append(prop("MemorySwapMax", .uint64(.max))) } else if let l = set(m.limit), l > 0, s >= l {
                    props.append(prop("MemorySwapMax", .uint64(UInt64(s - l))))
                }
            }
        }
        if let c = r.cpu {
            if let sh = set(c.shares) {
                props.append(unified ? prop("CPUWeight", .uint64(CgroupResources.weight(shares: sh))) : prop("CPUShares", .uint64(sh)))
            }
            let period = set(c.period) ?? 100_000
            if let q = set(c.quota), q > 0 {
                // systemd takes the quota per second, in steps of 10 ms (rounded up, as runc does).
                var perSec = UInt64(q) * 1_000_000 / period
                if perSec % 10_000 != 0 { perSec = (perSec / 10_000 + 1) * 10_000 }
                props.append(prop("CPUQuotaPerSecUSec", .uint64(perSec)))
                if set(c.period) != nil { props.append(prop("CPUQuotaPeriodUSec", .uint64(period))) }
            } else if let q = c.quota, q < 0 {
                props.append(prop("CPUQuotaPerSecUSec", .uint64(.max)))
            }
            if unified, let cpus = c.cpus, !cpus.isEmpty, let mask = bitmask(cpus) {
                props.append(prop("AllowedCPUs", .array("y", mask.map { .byte($0) })))
            }
            if unified, let mems = c.mems, !mems.isEmpty, let mask = bitmask(mems) {
                props.append(prop("AllowedMemoryNodes", .array("y", mask.map { .byte($0) })))
            }
        }
        if let p = r.pids, let l = p.limit {
            props.append(prop("TasksMax", .uint64(l <= 0 ? .max : UInt64(l))))
        }
        if let w = r.blockIO?.weight, w > 0 {
            props.append(unified ? prop("IOWeight", .uint64(CgroupResources.ioWeight(blkio: w))) : prop("BlockIOWeight", .uint64(UInt64(w))))
        }
        return props
    }

    /// "0-2,7" as systemd's CPU set bitmask: byte i holds CPUs 8i..8i+7, lowest bit first.
    public static func bitmask(_ list: String) -> [UInt8]? {
        var bits: [UInt8] = []
        for part in list.split(separator: ",") {
            let ends = part.trimmingCharacters(in: " ").split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2, let lo = Int(ends[0]), let hi = Int(ends.last!), lo >= 0, hi >= lo, hi < 65536 else { return nil }
            for n in lo...hi {
                while bits.count <= n / 8 { bits.append(0) }
                bits[n / 8] |= UInt8(1) << UInt8(n % 8)
            }
        }
        return bits.isEmpty ? nil : bits
    }
}

/// A connection to systemd's manager: the system bus first, else systemd's private socket.
public final class SystemdManager {
    public static let systemBus = "/run/dbus/system_bus_socket"
    public static let privateSocket = "/run/systemd/private"
    static let destination = "org.freedesktop.systemd1"
    static let path = "/org/freedesktop/systemd1"
    static let interface = "org.freedesktop.systemd1.Manager"

    public let bus: DBusConnection

    /// Connects (the system bus if systemd answers there, else the private socket).
    public init() throws {
        var why: [String] = []
        if Files.exists(SystemdManager.systemBus) {
            do {
                let c = try DBusConnection(path: SystemdManager.systemBus, isBus: true)
                c.timeoutMillis = 10_000
                // Job signals, routed by the bus only to those who ask for them.
                try c.call(.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch",
                                 [.string("type='signal',sender='\(SystemdManager.destination)',path='\(SystemdManager.path)',interface='\(SystemdManager.interface)',member='JobRemoved'")]))
                try c.call(SystemdManager.call("Subscribe"))
                c.timeoutMillis = 30_000
                bus = c
                return
            } catch {
                why.append("\(SystemdManager.systemBus): \(error)")
            }
        } else {
            why.append("\(SystemdManager.systemBus): \(SysError.text(ENOENT))")
        }
        do {
            let c = try DBusConnection(path: SystemdManager.privateSocket, isBus: false)
            bus = c
            return
        } catch {
            why.append("\(SystemdManager.privateSocket): \(error)")
        }
        throw RuntimeErrorText("--systemd-cgroup: cannot reach systemd at \(why.joined(separator: ", nor at ")): is systemd pid 1? (drop --systemd-cgroup to use cgroupfs)")
    }

    static func call(_ member: String, _ body: [DBusValue] = []) -> DBusMessage {
        .call(destination: destination, path: path, interface: interface, member: member, body)
    }

    /// Runs a job-returning method and waits for the job to finish; returns its result
    /// ("done", "failed", "canceled", ...).
    func runJob(_ member: String, _ body: [DBusValue], timeoutMillis: Int = 60_000) throws -> String {
        let reply = try bus.call(SystemdManager.call(member, body))
        guard let job = reply.body.first?.stringValue else { throw DBusError("\(member): systemd returned no job") }
        let signal = try bus.waitSignal(member: "JobRemoved", timeoutMillis: timeoutMillis) { m in
            m.body.count >= 4 && m.body[1].stringValue == job
        }
        return signal.body[3].stringValue ?? "unknown"
    }

    /// Creates the transient scope with the process in it; waits until it is running.
    public func startScope(_ unit: SystemdUnit, properties: [DBusValue]) throws {
        let result: String
        do {
            result = try runJob("StartTransientUnit", [.string(unit.unit), .string("fail"), .array("(sv)", properties), .array("(sa(sv))", [])])
        } catch let e as DBusError where e.name == "org.freedesktop.systemd1.UnitExists" {
            throw RuntimeErrorText("linux.cgroupsPath: the systemd unit \(JSON.quoted(unit.unit)) already exists (another container, or one not deleted): choose another name")
        } catch let e as DBusError {
            throw RuntimeErrorText("--systemd-cgroup: systemd could not create the unit \(JSON.quoted(unit.unit)) in \(JSON.quoted(unit.slice)): \(e)")
        }
        guard result == "done" else {
            throw RuntimeErrorText("--systemd-cgroup: systemd could not start the unit \(JSON.quoted(unit.unit)) (job result \(JSON.quoted(result))); see `systemctl status \(unit.unit)`")
        }
    }

    /// Changes properties of a live unit (runtime only, as `systemctl set-property --runtime`).
    public func setProperties(_ unit: String, _ properties: [DBusValue]) throws {
        guard !properties.isEmpty else { return }
        do {
            try bus.call(SystemdManager.call("SetUnitProperties", [.string(unit), .bool(true), .array("(sv)", properties)]))
        } catch let e as DBusError {
            throw RuntimeErrorText("systemd refused the properties of \(JSON.quoted(unit)): \(e)")
        }
    }

    /// Stops the unit (if it is still there) and forgets a failed state: nothing is left.
    public func stop(_ unit: String) throws {
        do {
            let result = try runJob("StopUnit", [.string(unit), .string("replace")])
            if result != "done" && result != "canceled" {
                throw RuntimeErrorText("systemd could not stop the unit \(JSON.quoted(unit)) (job result \(JSON.quoted(result)))")
            }
        } catch let e as DBusError where e.name == "org.freedesktop.systemd1.NoSuchUnit" {
            // Gone already: a scope stops by itself once its last process exited.
        } catch let e as DBusError {
            throw RuntimeErrorText("systemd could not stop the unit \(JSON.quoted(unit)): \(e)")
        }
        _ = try? bus.call(SystemdManager.call("ResetFailedUnit", [.string(unit)]))
    }
}
