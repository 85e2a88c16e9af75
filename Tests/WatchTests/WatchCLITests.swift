import Foundation
import Glibc
import Testing
import ConnDiagLab

/// `conndiag watch` flags on real traffic in a lab (root): --netns-pid, --until-first with
/// --expect none, the --write-pcap ring, and a capture buffer too small for a burst.
@Suite(.serialized) struct WatchCLITests {
    @Test func refusedConnectStopsUntilFirstAndFailsExpectNone() throws {
        guard WatchGate.enabled else { return }
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        // Watch the server's namespace through one of its processes, as a node watches a pod.
        let peer = try lab.startPeer(["python3", "-c", EchoServer.script, "7001"], readyPort: 7001)
        let watch = try WatchProcess(["watch", "--netns-pid", String(peer.pid), "--format", "ndjson",
                                      "--until-first", "critical", "--expect", "none", "--for", "20s"])
        #expect(watch.waitFor(timeout: 10) { $0.type == "start" }, "\(watch.stderr)")
        let start = try #require(watch.records.first { $0.type == "start" })
        #expect((start["namespace"] as? String)?.contains("pid \(peer.pid)") == true)
        try runIn(lab.clientNamespace, ["python3", "-c", "import socket\ntry: socket.create_connection(('10.213.0.2', 7999), timeout=3)\nexcept OSError: pass"])
        // The watch stops by itself at the first critical finding, exit 1 for --expect none.
        var status: Int32 = -1
        let end = Date().addingTimeInterval(5)
        while Date() < end, status < 0 {
            var raw: Int32 = 0
            if waitpid(watch.pid, &raw, WNOHANG) == watch.pid { status = (raw >> 8) & 0xff }
            usleep(20_000)
        }
        #expect(status == 1, "\(watch.stdout)\n\(watch.stderr)")
        let records = watch.records
        let refused = records.filter { $0.type == "finding" && $0.phase == "outcome" }
        #expect(refused.count == 1)
        #expect(refused.first?.mechanism == "rst")
        #expect(refused.first?["severity"] as? String == "critical")
        let summary = try #require(records.last, "\(watch.stdout)")
        #expect(summary.type == "summary")
        #expect(summary["stopped_by"] as? String == "until-first")
    }

    @Test func aConnectRefusedByICMPIsReportedOnce() throws {
        guard WatchGate.enabled else { return }
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        try lab.inject(.icmpPortUnreachable, port: 7002)
        let watch = try WatchProcess(["watch", "--netns", lab.clientNamespace, "--format", "ndjson"])
        #expect(watch.waitFor(timeout: 10) { $0.type == "start" }, "\(watch.stderr)")
        let script = "import socket, time\ntry: socket.create_connection(('10.213.0.2', 7002), timeout=5)\nexcept OSError as e: print(time.time(), e.errno)"
        let (_, out) = try runIn(lab.clientNamespace, ["python3", "-c", script])
        let failedAt = try #require(out.split(separator: " ").first.flatMap { Double($0) }, "client: \(out)")
        #expect(watch.waitFor(timeout: 2) { $0.phase == "outcome" }, "\(watch.stdout)")
        #expect(watch.stop() == 0)
        let outcomes = watch.records.filter { $0.type == "finding" && $0.phase == "outcome" }
        try #require(outcomes.count == 1, "\(watch.stdout)")
        #expect(outcomes[0].mechanism == "icmp")
        #expect((outcomes[0]["outcome"] as? [String: Any])?["errno"] as? String == "ECONNREFUSED")
        #expect(abs(outcomes[0].time - failedAt) < 1.0, "reported \(outcomes[0].time - failedAt) s after connect() failed")
    }

    @Test func writePcapRingKeepsTwoBoundedHalves() throws {
        guard WatchGate.enabled else { return }
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        let pcap = "/tmp/\(lab.name)-ring.pcap"
        defer { unlink(pcap); unlink(pcap + ".1") }
        let directory = try lab.makeContentDirectory(files: ["f.bin": 8 << 20])
        try lab.startPeer(["nghttpd", "--no-tls", "-d", directory, "8080"], readyPort: 8080)
        let watch = try WatchProcess(["watch", "--netns", lab.clientNamespace, "--format", "json", "--write-pcap", pcap, "--pcap-ring", "2"])
        usleep(500_000)
        try runIn(lab.clientNamespace, ["curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge", "http://10.213.0.2:8080/f.bin"])
        usleep(300_000)
        #expect(watch.stop() == 0, "\(watch.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(watch.stdout.utf8)) as? [String: Any], "\(watch.stdout)")
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect((summary["pcap"] as? String)?.contains("ring of 2 MB") == true, "\(summary)")
        for file in [pcap, pcap + ".1"] {
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? -1
            // Half the ring, plus at most one packet past the turn.
            #expect(size > 0 && size <= 1_000_000 + 70_000, "\(file): \(size) bytes")
        }
        // Both halves are valid captures.
        for file in [pcap, pcap + ".1"] { _ = try analyzeMechanisms(file) }
    }

    @Test func aBurstBeyondASmallBufferIsCountedNotFatal() throws {
        guard WatchGate.enabled else { return }
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        let directory = try lab.makeContentDirectory(files: ["f.bin": 32 << 20])
        try lab.startPeer(["nghttpd", "--no-tls", "-d", directory, "8080"], readyPort: 8080)
        let watch = try WatchProcess(["watch", "--netns", lab.clientNamespace, "--format", "ndjson", "--buffer-size", "1", "--status-interval", "200ms"])
        usleep(500_000)
        for _ in 0..<3 { try runIn(lab.clientNamespace, ["curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge", "http://10.213.0.2:8080/f.bin"]) }
        usleep(300_000)
        #expect(watch.stop() == 0, "\(watch.stderr)")
        let summary = try #require(watch.records.last, "\(watch.stdout)")
        #expect(summary.type == "summary")
        let received = summary["packets_received"] as? Int ?? 0, handled = summary["packets_handled"] as? Int ?? 0
        let dropped = summary["packets_dropped"] as? Int ?? -1
        #expect(handled > 0 && received >= handled && dropped >= 0, "\(summary)")
        // Any verdict on a connection open while packets were dropped says so.
        for f in watch.records where f.type == "finding" && dropped > 0 {
            #expect(f["capture_dropped_packets"] as? Bool == true, "\(f)")
        }
    }
}
