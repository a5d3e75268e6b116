// swift-tools-version:6.0
// skiff: an OCI container runtime. Module layout (one concern each):
//   CSkiff   - tiny C shim for what Swift cannot call (raw syscalls, variadic prctl, macros)
//   CCap     - libcap (Debian libcap-dev), linked statically into the release binary
//   CSeccomp - libseccomp (Debian libseccomp-dev), likewise
//   Seccomp  - OCI seccomp profiles compiled to BPF in the parent, loaded in the child
//   SkiffJSON - a Foundation-free JSON reader and writer
//   OCISpec  - OCI runtime-spec types and the strict decoder that names the JSON path of bad values
//   LinuxSys - thin Swift wrappers over the kernel (fds, mounts, namespaces, /proc)
//   Cgroups  - cgroup layout detection (v1, v2, hybrid) and placement
//   Runtime  - container lifecycle, state store, init process, rootfs, hooks
//   skiff    - the runc-compatible command line
import PackageDescription

// Concrete generic types (arrays of tuples, dictionaries...) get direct metadata accessors, not
// mangled names the runtime demangles on first use: the demangler, and the scan of every
// conformance record it does to check generic requirements, were 0.5 M of the 1.1 M
// instructions of `skiff state`, and their code pages a large part of its RSS.
let swiftSettings: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"])]

let package = Package(
    name: "skiff",
    products: [.executable(name: "skiff", targets: ["skiff"])],
    targets: [
        .target(name: "CSkiff"),
        .systemLibrary(name: "CCap", path: "Sources/CCap"),
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp"),
        .target(name: "SkiffJSON", swiftSettings: swiftSettings),
        .target(name: "OCISpec", dependencies: ["SkiffJSON"], swiftSettings: swiftSettings),
        .target(name: "LinuxSys", dependencies: ["CSkiff", "SkiffJSON"], swiftSettings: swiftSettings),
        .target(name: "Cgroups", dependencies: ["CSkiff", "LinuxSys", "OCISpec"], swiftSettings: swiftSettings),
        .target(name: "Seccomp", dependencies: ["CSeccomp", "OCISpec"], swiftSettings: swiftSettings),
        .target(name: "Runtime", dependencies: ["OCISpec", "LinuxSys", "Cgroups", "Seccomp", "CSkiff", "CCap"], swiftSettings: swiftSettings),
        .executableTarget(name: "skiff", dependencies: ["Runtime", "OCISpec", "LinuxSys", "Seccomp", "CCap"], swiftSettings: swiftSettings,
                          linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "--symbol-ordering-file=" + Context.packageDirectory + "/scripts/startup.order",
                                                         "-Xlinker", "--no-warn-symbol-ordering"])]),
        .testTarget(name: "OCISpecTests", dependencies: ["OCISpec"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Cgroups", "LinuxSys", "OCISpec", "SkiffJSON"]),
        .testTarget(name: "SeccompTests", dependencies: ["Seccomp", "OCISpec"], exclude: ["fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
