// swift-tools-version: 6.0
import PackageDescription

// Language mode 5: the engine is a synchronous reactor (poll) on one thread per run; strict
// concurrency checking would add ceremony without catching anything real here.
let package = Package(
    name: "conndiag",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "conndiag", targets: ["conndiag"]),
        // Library products only for the fuzz package in Fuzz/ (`make fuzz`), which links them
        // built with -sanitize=fuzzer,address.
        .library(name: "ConnDiagCore", targets: ["ConnDiagCore"]),
        .library(name: "ConnDiagPacket", targets: ["ConnDiagPacket"]),
        .library(name: "ConnDiagHTTP2", targets: ["ConnDiagHTTP2"]),
        .library(name: "ConnDiagPlatform", targets: ["ConnDiagPlatform"]),
        .library(name: "ConnDiagTCP", targets: ["ConnDiagTCP"]),
        .library(name: "ConnDiagAnalyze", targets: ["ConnDiagAnalyze"]),
        .library(name: "ConnDiagTLS", targets: ["ConnDiagTLS"]),
        .library(name: "ConnDiagOutput", targets: ["ConnDiagOutput"]),
        .library(name: "ConnDiagInspect", targets: ["ConnDiagInspect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CTLS", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "CNetShims"),
        .target(name: "ConnDiagCore"),
        .target(name: "ConnDiagPacket"),
        // One diagnoser per mechanism: pure functions over typed evidence and the kernel model;
        // and the TCP connection tracker that turns segments into that evidence. Runtime
        // exclusivity checks off as in ConnDiagAnalyze: the tracker runs per packet of
        // `analyze`, and every access to its side records is a class property access.
        .target(name: "ConnDiagDiagnosis", dependencies: ["ConnDiagCore", "ConnDiagPacket", "ConnDiagHTTP2"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The platform: the syscall funnel, the reactor, byte transports, namespaces and the
        // interrupt signal. Every other module does its I/O through it.
        .target(name: "ConnDiagPlatform", dependencies: [
            "ConnDiagCore", "CNetShims", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "ConnDiagTCP", dependencies: [
            "ConnDiagCore", "ConnDiagPacket", "ConnDiagDiagnosis", "ConnDiagPlatform", "CPcap", "CNetShims",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Exclusivity checks off as in ConnDiagAnalyze below: the frame decoder touches its
        // state a few times per frame, and a capture holds millions of frames.
        .target(name: "ConnDiagHTTP2", dependencies: ["CNghttp2", "ConnDiagPlatform"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "ConnDiagTLS", dependencies: ["CTLS", "ConnDiagPlatform"]),
        // Engines that drive HTTP/2 sessions (keepalive PINGs, GOAWAY traces) over the TCP core.
        .target(name: "ConnDiagHTTP2Engine", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "ConnDiagTCP", "ConnDiagHTTP2", "ConnDiagTLS", "ConnDiagDiagnosis"]),
        .target(name: "ConnDiagLab", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "ConnDiagTCP", "CNetShims"]),
        // Offline capture analysis (`analyze`): many connections, HTTP/2 inside, stalls.
        // Runtime exclusivity checks off here only: they were a fifth of the per-packet time
        // (every access to a connection's state is a class property access); the engine is
        // single-threaded and its accesses are checked statically as everywhere else.
        .target(name: "ConnDiagAnalyze", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "ConnDiagPacket", "ConnDiagTCP", "ConnDiagHTTP2", "ConnDiagDiagnosis", "ConnDiagTLS"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The `lab` matrix: reproducible failure scenarios run by the same engines.
        .target(name: "ConnDiagScenarios", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "ConnDiagTCP", "ConnDiagHTTP2Engine", "ConnDiagLab", "ConnDiagAnalyze"]),
        // `inspect`: another process's sockets through sock_diag and pidfd_getfd, with the
        // kernel model's predictions; with --capture, the live capture (ConnDiagTCP) and the
        // shared connection tracker (ConnDiagDiagnosis) for wire evidence.
        .target(name: "ConnDiagInspect", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "CNetShims", "ConnDiagPacket", "ConnDiagDiagnosis", "ConnDiagTCP"]),
        // `watch`: the analyze engine on a live capture, failures under way judged between
        // packets with the kernel model's predictions, local sockets' options read as inspect does.
        .target(name: "ConnDiagWatch", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "ConnDiagPacket", "ConnDiagTCP", "ConnDiagDiagnosis", "ConnDiagAnalyze", "ConnDiagInspect"]),
        // Every renderer, the JSON/NDJSON writing, the --expect grammar and the exit-code policy.
        .target(name: "ConnDiagOutput", dependencies: ["ConnDiagCore", "ConnDiagPlatform", "ConnDiagAnalyze", "ConnDiagHTTP2Engine", "ConnDiagScenarios", "ConnDiagInspect", "ConnDiagWatch"]),
        // BuildInfo (a prebuild plugin) generates the version, from the VERSION file, and the
        // git commit into the executable.
        .executableTarget(name: "conndiag", dependencies: [
            "ConnDiagCore", "ConnDiagPlatform", "ConnDiagOutput", "ConnDiagTCP", "ConnDiagHTTP2", "ConnDiagHTTP2Engine", "ConnDiagTLS", "ConnDiagLab", "ConnDiagScenarios", "ConnDiagAnalyze", "ConnDiagInspect", "ConnDiagWatch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], plugins: ["BuildInfo"]),
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .testTarget(name: "ConnDiagCoreTests", dependencies: ["ConnDiagCore"]),
        .testTarget(name: "ConnDiagPacketTests", dependencies: ["ConnDiagPacket"]),
        .testTarget(name: "ConnDiagPlatformTests", dependencies: ["ConnDiagPlatform", "ConnDiagCore"]),
        .testTarget(name: "ConnDiagTCPTests", dependencies: ["ConnDiagTCP", "ConnDiagPlatform", "ConnDiagDiagnosis"]),
        .testTarget(name: "DiagnosisTests", dependencies: ["ConnDiagDiagnosis", "ConnDiagCore", "ConnDiagHTTP2", "ConnDiagPacket"]),
        .testTarget(name: "ConnDiagHTTP2Tests", dependencies: ["ConnDiagHTTP2"]),
        .testTarget(name: "ConnDiagTLSTests", dependencies: ["ConnDiagTLS", "ConnDiagPlatform", "ConnDiagHTTP2Engine", "ConnDiagTCP", "ConnDiagCore"]),
        .testTarget(name: "LabTests", dependencies: ["ConnDiagLab", "ConnDiagScenarios", "ConnDiagPlatform", "ConnDiagTCP", "ConnDiagCore", "ConnDiagHTTP2Engine"]),
        .testTarget(name: "CLITests", dependencies: ["ConnDiagCore"]),
        .testTarget(name: "AnalyzeTests", dependencies: ["ConnDiagAnalyze", "ConnDiagCore", "ConnDiagOutput", "ConnDiagPacket", "ConnDiagTCP",
                                                    "ConnDiagHTTP2Engine", "ConnDiagDiagnosis", "ConnDiagTLS"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OutputTests", dependencies: ["ConnDiagOutput", "ConnDiagCore"]),
        // `watch` on real traffic in lab namespaces (root); the `Timing` suites run alone.
        .testTarget(name: "WatchTests", dependencies: ["ConnDiagWatch", "ConnDiagAnalyze", "ConnDiagCore", "ConnDiagLab", "ConnDiagPlatform", "ConnDiagDiagnosis", "ConnDiagPacket", "ConnDiagInspect"]),
        .testTarget(name: "InspectTests", dependencies: ["ConnDiagInspect", "ConnDiagOutput", "ConnDiagCore", "ConnDiagPlatform"]),
    ],
    swiftLanguageModes: [.v5]
)
