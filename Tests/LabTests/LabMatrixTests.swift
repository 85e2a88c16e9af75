import Testing
import Foundation
import Glibc

/// `conndiag lab` as a user runs it: the quick matrix in JSON, and SIGINT mid-matrix.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"), .serialized)
struct TimingLabMatrixTests {
    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["CONNDIAG_BIN"] { return b }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/conndiag").path
    }

    func namespaces(of pid: Int32) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }
    }

    @Test func quickMatrixMatchesTheKernelModel() throws {
        try LabGate.requireGRPCIO()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["lab", "--quick", "--format", "json"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let start = Date()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(Date().timeIntervalSince(start) < 60, "the quick matrix must stay under a minute")
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let rows = try #require(doc["scenarios"] as? [[String: Any]])
        #expect(rows.count >= 20)
        for row in rows {
            let id = row["id"] as? String ?? "?"
            let outcome = row["outcome"] as? [String: Any]
            #expect(row["error"] == nil || row["error"] is NSNull, "\(id): \(row["error"] ?? "")")
            if row["predicted_only"] as? Bool != true {
                #expect(outcome?["mechanism"] as? String == row["expected_mechanism"] as? String, "\(id)")
            }
            if let dev = row["deviation_ms"] as? Double, let tol = row["tolerance_ms"] as? Double {
                #expect(abs(dev) <= tol, "\(id): deviation \(dev) ms beyond \(tol) ms")
            }
            #expect(row["passed"] as? Bool == true, "\(id)")
        }
        #expect(p.terminationStatus == 0)
        #expect(namespaces(of: p.processIdentifier).isEmpty)
    }

    @Test func sigintMidMatrixLeavesNothingBehind() throws {
        try LabGate.requireGRPCIO()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["lab", "--format", "json", "--parallel", "2", "syn-refused", "keepalive-short", "unacked-user-timeout", "grpc-max-age-grace", "syn-blackhole-syncnt2"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 2.5)
        let pid = p.processIdentifier
        let peers = InterruptStormTests.labPids(of: pid)
        kill(pid, SIGINT)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(doc["interrupted"] as? Bool == true)
        let rows = try #require(doc["scenarios"] as? [[String: Any]])
        #expect(rows.contains { $0["id"] as? String == "syn-refused" && $0["passed"] as? Bool == true })
        #expect(rows.count < 5)
        // No namespace, peer process or firewall rule of that run is left.
        #expect(namespaces(of: pid).isEmpty)
        #expect(InterruptStormTests.alive(peers).isEmpty, "a peer process of the interrupted lab is still running")
    }
}
