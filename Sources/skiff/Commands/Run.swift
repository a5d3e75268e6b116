import CSkiff
import Glibc
import LinuxSys
import Runtime

enum RunCommand {
    static let command = Command(name: "run", usage: "[options] <container-id>",
                                 summary: "create and start a container, and wait for it", flags: CreateCommand.flags + [
        .bool("detach", "d", help: "return once the container runs"),
        .bool("keep", help: "do not delete the container when it exits"),
        .bool("no-subreaper", help: "do not reap orphaned processes of the container"),
    ]) { p, g in
        var options = try CreateCommand.createOptions(p, command: "run")
        options.rootless = g.rootless
        options.systemdCgroup = g.systemdCgroup
        let detach = p.bool("detach")
        // A foreground run with a terminal and no console socket: skiff relays the terminal.
        options.relayTerminal = !detach
        // The container's init is skiff's own child (CLONE_PARENT); as a subreaper skiff also
        // reaps what the container orphans, so no zombie is left while it waits.
        if !detach && !p.bool("no-subreaper") { _ = skiff_prctl(SKIFF_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
        let created = try Lifecycle.create(options, store: g.store)
        let state = created.state
        do {
            try Container.start(options.id, store: g.store)
        } catch {
            try? Container.delete(options.id, force: true, store: g.store)
            throw error
        }
        if detach { return 0 }
        var status: Int32
        if created.terminal >= 0 {
            var master: Int32 = -1
            var name = [UInt8](repeating: 0, count: 256)
            guard skiff_recv_fd(created.terminal, &master, &name, name.count) > 0, master >= 0 else {
                throw RuntimeError("process.terminal: the container did not send its terminal")
            }
            status = TerminalRelay.run(master: master, pid: state.pid)
        } else {
            status = Container.waitForeground(pid: state.pid)
        }
        if !p.bool("keep") {
            do { try Container.delete(options.id, force: true, store: g.store) } catch {
                Log.warn("\(error)")
            }
        }
        return status
    }
}
