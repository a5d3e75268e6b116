import Cgroups
import OCISpec
import Testing

@Suite struct CgroupLayoutTests {
    static let hybrid = """
    31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    37 31 0:34 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
    """

    @Test func hybridLayout() {
        let l = CgroupLayout.detect(mountinfo: Self.hybrid)
        #expect(l.mode == "hybrid")
        #expect(l.unified == "/sys/fs/cgroup/unified")
        #expect(l.v1MountPoint("memory") == "/sys/fs/cgroup/memory")
        #expect(l.v1MountPoint("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct")
        #expect(l.v1.first { $0.mountPoint.hasSuffix("systemd") }?.controllers == ["name=systemd"])
        #expect(l.v1MountPoint("hugetlb") == nil) // active elsewhere, not mounted here: skipped
    }

    @Test func pureV2AndPureV1() {
        let v2 = CgroupLayout.detect(mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate")
        #expect(v2.mode == "v2" && v2.v1.isEmpty)
        let v1 = CgroupLayout.detect(mountinfo: "32 31 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids")
        #expect(v1.mode == "v1" && v1.unified == nil)
    }

    @Test func escapedMountPoints() {
        let l = CgroupLayout.detect(mountinfo: "32 31 0:29 / /mnt/cg\\040x rw - cgroup cgroup rw,pids")
        #expect(l.v1MountPoint("pids") == "/mnt/cg x")
    }

    /// A tmpfs mounted over /sys/fs/cgroup (as a harness does in a private mount namespace)
    /// hides the hierarchies below it; mountinfo still lists them. Only the visible ones count.
    @Test func coveredMountsAreIgnored() {
        let over = Self.hybrid + """

        90 31 0:50 / /sys/fs/cgroup rw,relatime - tmpfs cgroup rw,mode=755
        91 90 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        92 90 0:33 / /sys/fs/cgroup/pids-new rw,relatime - cgroup cgroup rw,pids
        """
        let l = CgroupLayout.detect(mountinfo: over)
        #expect(l.mode == "v1") // cgroup2 at unified is under the old tmpfs: hidden
        #expect(l.unified == nil)
        #expect(l.v1MountPoint("memory") == "/sys/fs/cgroup/memory")
        #expect(l.v1MountPoint("pids") == "/sys/fs/cgroup/pids-new")
        #expect(l.v1MountPoint("cpu") == nil)
        #expect(l.v1.count == 2)

        // Mounted straight over one hierarchy: the mount on top is the one that counts.
        let stacked = """
        31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw
        35 31 0:32 / /sys/fs/cgroup/a rw - cgroup cgroup rw,memory
        36 35 0:33 / /sys/fs/cgroup/a rw - cgroup cgroup rw,pids
        37 31 0:34 / /sys/fs/cgroup/ab rw - cgroup cgroup rw,cpu
        """
        let s = CgroupLayout.detect(mountinfo: stacked)
        #expect(s.v1MountPoint("memory") == nil)
        #expect(s.v1MountPoint("pids") == "/sys/fs/cgroup/a")
        #expect(s.v1MountPoint("cpu") == "/sys/fs/cgroup/ab") // a sibling whose name extends it is not covered

        // cgroup2 over the whole v1 tree: pure v2.
        let v2 = CgroupLayout.detect(mountinfo: Self.hybrid + "\n99 31 0:60 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw")
        #expect(v2.mode == "v2" && v2.unified == "/sys/fs/cgroup")
    }

    @Test func cgroupPaths() throws {
        #expect(try Cgroup.path(cgroupsPath: nil, id: "c1") == "/c1")
        #expect(try Cgroup.path(cgroupsPath: "/docker/abc", id: "c1") == "/docker/abc")
        #expect(try Cgroup.path(cgroupsPath: "relative/x", id: "c1") == "/relative/x")
        #expect(throws: DecodeError.self) { try Cgroup.path(cgroupsPath: "system.slice:docker:abc", id: "c1") }
        #expect(throws: DecodeError.self) { try Cgroup.path(cgroupsPath: "/a/../../etc", id: "c1") }
        #expect(throws: DecodeError.self) { try Cgroup.path(cgroupsPath: "/", id: "c1") }
    }
}
