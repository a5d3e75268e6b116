import Glibc
import LinuxSys
import OCISpec
import Runtime

enum SpecCommand {
    static let command = Command(name: "spec", usage: "[options]", summary: "write a default config.json into a bundle", flags: [
        .value("bundle", "b", help: "the bundle directory (default: the current directory)"),
        .bool("rootless", help: "a config for an unprivileged user (user namespace, no cgroups)"),
    ]) { p, g in
        let bundle = Files.absolute(p.value("bundle") ?? ".")
        let path = bundle + "/config.json"
        if Files.exists(path) { throw RuntimeError("\(path) already exists; remove it first") }
        guard Files.isDirectory(bundle) else { throw RuntimeError("bundle \(bundle) is not a directory") }
        do {
            try Files.write(path, DefaultSpec.json(rootless: p.bool("rootless")), flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        } catch { throw RuntimeError("cannot write \(path): \(error)") }
        return 0
    }
}
