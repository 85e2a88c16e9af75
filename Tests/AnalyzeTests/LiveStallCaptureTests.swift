import Foundation
import Testing
import Glibc
import ConnDiagAnalyze

/// The committed stall fixture, recorded again now: a real grpcio bidirectional call in which
/// both sides send large messages and neither reads, captured by tcpdump in a private network
/// namespace (make-stall.py), then analysed. Root is needed for the namespace; with CI=true
/// the test runs or fails, never skips.
@Suite(.enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true",
                "needs root for the capture namespace"))
struct LiveStallCaptureTests {
    @Test func aFreshGRPCBidiDeadlockIsDiagnosedAsAFlowControlStall() throws {
        let script = try #require(Bundle.module.url(forResource: "make-stall", withExtension: "py", subdirectory: "Fixtures")).path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cdtest-\(getpid())-stall.pcap").path
        defer { unlink(out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, out]
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe(); p.standardError = err
        try p.run()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "make-stall.py failed: \(errText)")

        let r = try Fixture.analyze(path: out)
        let c = try #require(r.connections.first { $0.extra("diagnosis")?.string == "flow-control-stall" },
                             "no stalled connection among \(r.connections.map { $0.outcome.summary })")
        #expect(c.protocolName == "grpc")
        #expect(c.outcome.mechanism == .flowControlStall)
        #expect(c.extra("window_known") == .bool(true))
        #expect((c.extra("pings_answered_during_stall")?.int ?? 0) >= 3, "PINGs keep being answered: the peer is alive")
        #expect((c.extra("bytes_waiting")?.int ?? 0) > 0)
        #expect(c.outcome.summary.contains("both directions are stalled"), "\(c.outcome.summary)")
        #expect(r.findings.filter { $0.kind == "flow-control-stall" }.count == 2)
    }
}
