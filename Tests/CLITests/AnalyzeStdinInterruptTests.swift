import Foundation
import Glibc
import Testing

/// `tcpdump -U -w - | conndiag analyze -`: the pipe stays open while the capture runs, so
/// analyze sits in a blocking read. SIGINT/SIGTERM must end that read at once and still write
/// the analysis of what arrived, marked interrupted. No privileges needed.
@Suite("analyze - (a live pipe)")
struct AnalyzeStdinInterruptTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AnalyzeTests/Fixtures/grpc-drain.pcap").path

    func interrupted(format: String, signal sig: Int32, sendPackets: Bool) throws -> (status: Int32, signaled: Bool, stdout: String, seconds: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["analyze", "-", "--format", format]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        // The semaphore orders the reader's write before the read below (ThreadSanitizer).
        var out = Data()
        let readDone = DispatchSemaphore(value: 0)
        let reader = Thread { out = output.fileHandleForReading.readDataToEndOfFile(); readDone.signal() }
        reader.start()
        if sendPackets { input.fileHandleForWriting.write(try Data(contentsOf: URL(fileURLWithPath: Self.fixture))) }
        usleep(800_000)   // analyze has read what was written and now waits on the open pipe
        let started = Date()
        kill(p.processIdentifier, sig)
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        readDone.wait()
        try? input.fileHandleForWriting.close()
        return (p.terminationStatus, p.terminationReason == .uncaughtSignal, String(decoding: out, as: UTF8.self), seconds)
    }

    @Test("SIGINT while the pipe is open: JSON of the packets read, interrupted true, at once")
    func sigintJSON() throws {
        let r = try interrupted(format: "json", signal: SIGINT, sendPackets: true)
        #expect(!r.signaled, "died of the signal instead of handling it")
        #expect(r.seconds < 2, "the blocked read must end at once (took \(r.seconds) s)")
        let doc = try JSON.object(r.stdout)
        #expect(doc["interrupted"] as? Bool == true)
        #expect((doc["input"] as? [String: Any])?["packets"] as? Int == 59)
        let outcome = doc["outcome"] as? [String: Any] ?? [:]
        #expect(outcome["mechanism"] as? String == "goaway-grace-expired", "\(outcome)")
        #expect(r.status == 1, "the drain with an open stream is a finding")
    }

    @Test("SIGTERM before the file header arrived: an empty report, interrupted, not bad input")
    func sigtermBeforeHeader() throws {
        let r = try interrupted(format: "ndjson", signal: SIGTERM, sendPackets: false)
        #expect(!r.signaled)
        #expect(r.status != 4, "an interrupt is not damaged input")
        let last = try #require(r.stdout.split(separator: "\n").last)
        let summary = try JSON.object(String(last))
        #expect(summary["type"] as? String == "summary")
        #expect(summary["interrupted"] as? Bool == true)
    }
}
