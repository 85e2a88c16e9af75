// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for conndiag's decoders (issue 8). Built only by `make fuzz` /
// `make fuzz-smoke` with -sanitize=fuzzer,address (see Fuzz/run.sh); the root package's
// `swift build` and `swift test` never see this package.
let package = Package(
    name: "conndiag-fuzz",
    dependencies: [.package(name: "conndiag", path: "..")],
    targets: [
        .target(name: "FuzzMain"),
        .executableTarget(name: "FuzzPacketDecoder", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagPacket", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzTCPReassembly", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagCore", package: "conndiag"),
            .product(name: "ConnDiagPacket", package: "conndiag"),
            .product(name: "ConnDiagAnalyze", package: "conndiag"),
            .product(name: "ConnDiagOutput", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzHTTP2Frames", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagHTTP2", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzTLSRecords", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagTLS", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzCaptureReader", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagCore", package: "conndiag"),
            .product(name: "ConnDiagTCP", package: "conndiag"),
            .product(name: "ConnDiagAnalyze", package: "conndiag"),
            .product(name: "ConnDiagOutput", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzHTTP1Head", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagHTTP2", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzHTTP1Upgrade", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagHTTP2", package: "conndiag"),
            .product(name: "ConnDiagPacket", package: "conndiag"),
            .product(name: "ConnDiagAnalyze", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzKeyLog", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagTLS", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzPcapngReader", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagPacket", package: "conndiag"),
            .product(name: "ConnDiagTCP", package: "conndiag"),
        ]),
        .executableTarget(name: "FuzzSockDiag", dependencies: [
            "FuzzMain",
            .product(name: "ConnDiagInspect", package: "conndiag"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
