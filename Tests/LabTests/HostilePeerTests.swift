import Testing
import Foundation
import Glibc
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagTCP

/// goaway-trace against a hostile HTTP/2 server (raw Python socket in a lab): every kind of
/// abuse ends in a clear protocol-error outcome, within the run's --for, with bounded memory.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct HostilePeerTests {
    @Test(arguments: LabPeers.hostileModes)
    func reportsTheViolation(mode: String) throws {
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        try lab.startPeer(LabPeers.hostileH2(port: 9443, mode: mode), readyPort: 9443)
        // Run the real binary so its peak memory can be measured.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-f", "%M", "ip", "netns", "exec", lab.clientNamespace, TimingLabMatrixTests.binary,
                       "goaway-trace", "\(lab.serverIPv4):9443", "--for", "5s", "--format", "json"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let start = Date()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(Date().timeIntervalSince(start) < 8, "\(mode): the run must end within its --for")
        #expect(p.terminationStatus == 1, "\(mode)")
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(mode): complete JSON")
        let outcome = try #require(doc["outcome"] as? [String: Any])
        let summary = outcome["summary"] as? String ?? ""
        if mode == "huge-goaway" {
            #expect(outcome["mechanism"] as? String == "goaway")
            #expect(summary.count < 400, "the debug payload is summarised, not dumped")
        } else {
            #expect(outcome["status"] as? String == "error", "\(mode): \(summary)")
            #expect(summary.contains("protocol error") || summary.contains("not HTTP/2"), "\(mode): \(summary)")
        }
        let rssKB = Int(errText.split(separator: "\n").last.map(String.init) ?? "") ?? 0
        // Under a sanitizer (`make test-sanitized`) peak RSS mostly measures its runtime (ASan
        // keeps 256 MB of freed memory in quarantine, both add shadow memory): 100 MB is
        // `make test`'s bound; a sanitized run only catches runaway growth.
        let sanitized = !(ProcessInfo.processInfo.environment["CONNDIAG_SANITIZER"] ?? "").isEmpty
        let limitKB = (sanitized ? 1024 : 100) * 1024
        #expect(rssKB > 0 && rssKB < limitKB, "\(mode): peak RSS \(rssKB) KB")
    }
}
