import Foundation
import Glibc

/// Lab tests need root (namespaces, iptables inside them, raw capture). On a developer's
/// laptop without root they skip; with CI=true they always run, and fail without root.
enum LabGate {
    static var isRoot: Bool { geteuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var enabled: Bool { isRoot || isCI }
}

extension LabGate {
    /// The grpcio peers need PyPI's grpcio (installed by `make test`). In CI its absence
    /// is a failure, never a skip.
    static func requireGRPCIO() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import grpc"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        if p.terminationStatus != 0 {
            struct Missing: Error, CustomStringConvertible { var description = "python3 cannot import grpc: run `make test` (pip install grpcio)" }
            throw Missing()
        }
    }
}
