import CSkiff
import Cgroups
import Glibc
import LinuxSys
import OCISpec

/// A running container's cgroup: `update`, and `events` (statistics and OOM notifications).
extension Container {
    /// `update`: changes the resource limits of a live (created, running or paused) container.
    public static func update(_ id: String, _ r: Resources, store: StateStore) throws {
        try store.locked(id, "update") { try updateLocked(id, r, store: store) }
    }

    static func updateLocked(_ id: String, _ r: Resources, store: StateStore) throws {
        let state = try store.load(id)
        guard [.created, .running, .paused].contains(state.status) else {
            throw RuntimeError("cannot update container \(JSON.quoted(id)): container not running (it is \(state.status.rawValue))")
        }
        if state.hasNoCgroup {
            throw RuntimeError("cannot update container \(JSON.quoted(id)): it has no cgroup (a rootless container whose user may not create one), so there are no limits to change")
        }
        do {
            try CgroupResources.checkSupported(r, path: "", layout: .current)
            if let unit = state.systemdUnit { try SystemdCgroup.update(unit, r) }
            try CgroupResources.apply(r, to: state.cgroup, path: "", update: true)
        } catch let e as RuntimeErrorText {
            throw RuntimeError("cannot update container \(JSON.quoted(id)): \(e)")
        } catch let e as DecodeError {
            throw RuntimeError("cannot update container \(JSON.quoted(id)): \(e)")
        }
    }

    /// One `{"type":"stats","id":...,"data":{...}}` event, as runc prints it.
    public static func statsEvent(_ id: String, store: StateStore) throws -> JSON {
        let state = try store.load(id)
        guard [.created, .running, .paused].contains(state.status) else {
            throw RuntimeError("cannot read the statistics of container \(JSON.quoted(id)): container not running (it is \(state.status.rawValue))")
        }
        return event("stats", id: id, data: CgroupStats.read(state.cgroup))
    }

    static func event(_ type: String, id: String, data: JSON? = nil) -> JSON {
        var members: [(String, JSON)] = [("type", .string(type)), ("id", .string(id))]
        if let data { members.append(("data", data)) }
        return .object(members)
    }

    /// `events`: prints a stats event every `interval` seconds and an `oom` event each time
    /// the kernel's OOM killer kills a process of the container, until the container stops.
    public static func streamEvents(_ id: String, interval: Double, store: StateStore, emit: (JSON) -> Void) throws {
        let first = try statsEvent(id, store: store)
        emit(first)
        let cg = try store.load(id).cgroup
        var oom = OOMWatcher(cg)
        defer { oom?.close() }
        var next = (Double(Clock.monotonicNanos()) / 1e9) + interval
        while true {
            let wait = max(0, next - (Double(Clock.monotonicNanos()) / 1e9))
            var pfd = pollfd(fd: oom?.fd ?? -1, events: Int16(POLLIN), revents: 0)
            // Wake at least every 250 ms to notice that the container stopped.
            let r = poll(&pfd, 1, Int32(min(wait, 0.25) * 1000))
            if r > 0, pfd.revents != 0, oom != nil {
                let kills = oom!.drain()
                for _ in 0..<kills { emit(event("oom", id: id)) }
            }
            guard let state = try? store.load(id), [.created, .running, .paused].contains(state.status) else {
                // An OOM kill is often what stopped it: report the ones not signalled yet.
                if oom != nil { for _ in 0..<oom!.newKills() { emit(event("oom", id: id)) } }
                return
            }
            if (Double(Clock.monotonicNanos()) / 1e9) >= next {
                emit(event("stats", id: id, data: CgroupStats.read(state.cgroup)))
                next += interval
            }
        }
    }
}
