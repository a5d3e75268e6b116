import CSkiff
import OCISpec
@testable import Runtime
import Testing

@Suite struct MountOptionsTests {
    @Test func flagsSetAndClear() throws {
        let o = try MountOptions(["ro", "nosuid", "nodev", "noexec", "relatime"], path: "mounts[0].options")
        #expect(o.flags == SKIFF_MS_RDONLY | SKIFF_MS_NOSUID | SKIFF_MS_NODEV | SKIFF_MS_NOEXEC | SKIFF_MS_RELATIME)
        #expect(o.data.isEmpty)
        let rw = try MountOptions(["ro", "rw"], path: "m")
        #expect(rw.flags & SKIFF_MS_RDONLY == 0)
        #expect(rw.clear & SKIFF_MS_RDONLY != 0)
    }

    @Test func bindAndRecursive() throws {
        let o = try MountOptions(["rbind", "rro", "rnosuid", "rprivate"], path: "m")
        #expect(o.bind && o.recursiveBind)
        #expect(o.recursiveSet == SKIFF_MOUNT_ATTR_RDONLY | SKIFF_MOUNT_ATTR_NOSUID)
        #expect(o.propagation == [SKIFF_MS_PRIVATE | SKIFF_MS_REC])
    }

    @Test func atimeIsOneField() throws {
        let o = try MountOptions(["rnoatime", "rrelatime"], path: "m")
        #expect(o.recursiveClear & SKIFF_MOUNT_ATTR__ATIME == SKIFF_MOUNT_ATTR__ATIME)
        #expect(o.recursiveSet == SKIFF_MOUNT_ATTR_RELATIME)
    }

    @Test func filesystemDataPassesThrough() throws {
        let o = try MountOptions(["nosuid", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "tmpcopyup"], path: "m")
        #expect(o.dataString == "newinstance,ptmxmode=0666,mode=0620,gid=5")
        #expect(o.tmpcopyup)
    }

    @Test func idmapAndRidmap() throws {
        let a = try MountOptions(["rbind", "idmap"], path: "m")
        #expect(a.idmap && !a.recursiveIdmap && a.recursiveBind && a.data.isEmpty)
        let b = try MountOptions(["bind", "ridmap"], path: "m")
        #expect(b.idmap && b.recursiveIdmap && b.data.isEmpty)
    }

    @Test func emptyOptionIsAnError() {
        #expect(throws: DecodeError.self) { try MountOptions(["ro", ""], path: "m") }
    }
}
