// swift-tools-version:6.0
// Wand: a watch-folder daemon that turns dropped files into Wan2.2 videos.
// The arrows between modules are fixed in ../shared/design/ARCHITECTURE.md; keep them.
import PackageDescription

let package = Package(
    name: "Wand",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "wand", targets: ["wand"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, all from Debian 12 packages (see Makefile's DEBS).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CInotify", providers: [.apt(["libinotifytools0-dev"])]),
        .systemLibrary(name: "CAV", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev",
                                         "libswscale-dev", "libswresample-dev", "libavfilter-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libpq: the journal on PostgreSQL when several hosts share one queue (`queue: {backend: postgres}`).
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // The engine side: tensors -> models -> engine. No full Foundation below WandEngine.
        // CWandKernels: WandTensor's AVX2/AVX-512 inner loops (runtime CPU dispatch, portable fallback).
        .target(name: "CWandKernels", path: "Sources/CWandKernels"),
        // CWandVulkan: the Vulkan runtime (libvulkan.so.1 opened with dlopen, headers from
        // libvulkan-dev); SPIRVShaders compiles WandTensor's GLSL compute shaders with glslc.
        .target(name: "CWandVulkan", path: "Sources/CWandVulkan", linkerSettings: [.linkedLibrary("dl")]),
        .plugin(name: "SPIRVShaders", capability: .buildTool(), path: "Plugins/SPIRVShaders"),
        .target(name: "WandTensor", dependencies: ["CBLAS", "CWandKernels", "CWandVulkan"],
                plugins: ["SPIRVShaders"]),
        .target(name: "WandModels", dependencies: ["WandTensor"]),
        .target(name: "WandEngine", dependencies: ["WandModels", "WandTensor", "WandMedia"]),

        // Media: decoding inputs, encoding MP4s, watermarks, posters.
        .target(name: "WandMedia", dependencies: ["CAV"]),

        // The daemon: config, jobs, watcher, queue, journal, outbox, systemd, control socket.
        .target(name: "WandDaemon",
                dependencies: ["WandEngine", "WandMedia", "CSystemd", "CInotify", "CYAML", "CSQLite", "CPostgres"]),

        .executableTarget(name: "wand", dependencies: [
            "WandDaemon", "WandEngine", "WandModels", "WandMedia", "WandTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "WandTensorTests", dependencies: ["WandTensor"], path: "Tests/WandTensorTests"),
        .testTarget(name: "WandModelsTests", dependencies: ["WandModels", "WandTensor"], path: "Tests/WandModelsTests"),
        .testTarget(name: "WandEngineTests", dependencies: ["WandEngine", "WandModels", "WandTensor", "WandMedia"], path: "Tests/WandEngineTests"),
        .testTarget(name: "WandMediaTests", dependencies: ["WandMedia"], path: "Tests/WandMediaTests"),
        .testTarget(name: "WandDaemonTests", dependencies: ["WandDaemon", "WandEngine", "WandMedia"], path: "Tests/WandDaemonTests"),
    ]
)
