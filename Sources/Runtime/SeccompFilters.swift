import Glibc
import LinuxSys
import OCISpec
import Seccomp

/// The container's seccomp filter: compiled in the parent (so a bad profile is reported before
/// any process exists, with its JSON path), loaded by the container process just before it
/// execs; with SCMP_ACT_NOTIFY the listener fd goes to `listenerPath` with the state.
enum SeccompFilters {
    static func compile(_ profile: Seccomp, path: String) throws -> SeccompProgram {
        let program = try SeccompProgram(profile, path: path)
        if !program.skippedSyscalls.isEmpty {
            Log.debug("\(path): syscalls unknown to this libseccomp skipped: \(program.skippedSyscalls.joined(separator: ", "))")
        }
        return program
    }

    /// Hands a notify fd to the listener, from the parent (in the host's mount namespace).
    static func sendToListener(_ fd: Int32, profile: Seccomp, pid: Int32, state: JSON, ociVersion: String) throws {
        defer { close(fd) }
        guard let listener = profile.listenerPath else { return }
        let message = seccompContainerProcessState(ociVersion: ociVersion, pid: pid, metadata: profile.listenerMetadata, state: state)
        do { try sendSeccompListenerFD(fd, listenerPath: listener, stateJSON: message) } catch {
            throw RuntimeError("linux.seccomp.listenerPath: \(error)")
        }
    }

    /// A filter with SCMP_ACT_NOTIFY is loaded early, while the parent is still there to take
    /// the notify fd: `loadEarly` loads it and sends the fd over the sync channel.
    static func loadEarly(_ program: SeccompProgram, channel: SyncChannel) throws {
        let fd: Int32
        do { fd = try program.load() } catch { throw RuntimeError("linux.seccomp: \(error)") }
        if fd >= 0 {
            try channel.send(.seccompFD, fd: fd)
            close(fd)
        }
    }

    /// What the child needs at exec time.
    struct Loaded {
        let program: SeccompProgram
        let profile: Seccomp
        /// The container state, for the notify listener.
        let stateJSON: String
        let ociVersion: String

        func load() throws {
            if program.needsNotify { return } // loaded early, see loadEarly
            do { _ = try program.load() } catch { throw RuntimeError("linux.seccomp: \(error)") }
        }
    }
}
