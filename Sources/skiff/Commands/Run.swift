import CSkiff
import Glibc
import LinuxSys
import Runtime

enum RunCommand {
    static let command = Command(name: "run", usage: "[options] <container-id>",
                                 summary: "create and start a container, and wait for it", flags: CreateCommand.flags + [
        .bool("detach", "d", help: "return once the container runs"),
        .bool("keep", help: "do not delete the container when it exits"),
    ]) { p, g in
        let options = try CreateCommand.createOptions(p, command: "run")
        let detach = p.bool("detach")
        // In the foreground skiff adopts the container's init (its stage-1 parent exits) to
        // wait for it and return its exit status.
        if !detach { _ = skiff_prctl(SKIFF_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
        let state = try Lifecycle.create(options, store: g.store)
        do {
            try Container.start(options.id, store: g.store)
        } catch {
            try? Container.delete(options.id, force: true, store: g.store)
            throw error
        }
        if detach { return 0 }
        let status = Container.waitForeground(pid: state.pid)
        if !p.bool("keep") {
            do { try Container.delete(options.id, force: true, store: g.store) } catch {
                Log.warn("\(error)")
            }
        }
        return status
    }
}
