import Foundation
import Glibc
import Testing
import ConnDiagLab

/// `conndiag watch --format ndjson` on a lab's client namespace while real failures happen
/// there: each is reported once, with the right mechanism, within 1 s of happening; the
/// packets written with --write-pcap give `analyze` the same mechanism per connection.
/// Timing-sensitive (1 s bounds against the kernel's timers): runs in the serial pass.
@Suite(.serialized) struct WatchLabTimingTests {
    /// One lab and one watch on its client namespace, writing the packets to a pcap.
    final class Session {
        let lab: Lab
        let pcap: String
        let watch: WatchProcess

        init(extra: [String] = []) throws {
            lab = try Lab(prefix: "cdtest")
            pcap = "/tmp/\(lab.name)-watch.pcap"
            watch = try WatchProcess(["watch", "--netns", lab.clientNamespace, "--format", "ndjson", "--status-interval", "1s",
                                      "--write-pcap", pcap] + extra)
            guard watch.waitFor(timeout: 10, { $0.type == "start" }) else {
                throw Failure("watch did not start: \(watch.stderr)")
            }
        }

        deinit {
            watch.stop(signal: SIGKILL)
            lab.destroy()
            if ProcessInfo.processInfo.environment["WATCH_KEEP_PCAP"] == nil { unlink(pcap) }
        }

        func findings(server: String) -> [[String: Any]] {
            watch.records.filter { $0.type == "finding" && ($0["server"] as? String) == server }
        }

        /// Stops the watch (SIGTERM: exit 0 and a summary) and checks that `analyze` of its
        /// pcap gives every connection watch reported an outcome for the same mechanism.
        func finishAndCompareWithAnalyze() throws {
            #expect(watch.stop() == 0, "\(watch.stderr)")
            let records = watch.records
            #expect(records.last?.type == "summary")
            let analyzed = try analyzeMechanisms(pcap)
            let outcomes = records.filter { $0.type == "finding" && $0.phase == "outcome" }
            #expect(!outcomes.isEmpty)
            for o in outcomes {
                #expect(analyzed[o.connectionKey] == o.mechanism, "watch said \(o.mechanism ?? "?") for \(o.connectionKey); analyze: \(analyzed)")
            }
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    @Test func blackholedConnectIsPredictedThenReported() throws {
        guard WatchGate.enabled else { return }
        let s = try Session()
        try s.lab.inject(.blackhole, port: 9)
        let script = """
        import socket, time
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 2)
        try:
            s.connect(("10.213.0.2", 9))
        except OSError as e:
            print(time.time(), e.errno, flush=True)
        """
        let (_, out) = try runIn(s.lab.clientNamespace, ["python3", "-c", script])
        let parts = out.split(separator: " ")
        let failedAt = try #require(parts.first.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(parts.dropFirst().first.map { $0.hasPrefix("110") } == true, "connect should time out: \(out)")
        #expect(s.watch.waitFor(timeout: 2) { $0.phase == "outcome" }, "\(s.watch.stdout)")
        let mine = s.findings(server: "10.213.0.2:9")
        let warnings = mine.filter { $0.phase == "in-progress" }
        let outcomes = mine.filter { $0.phase == "outcome" }
        try #require(warnings.count == 1 && outcomes.count == 1, "\(s.watch.stdout)")
        let w = warnings[0], o = outcomes[0]
        #expect(w["kind"] as? String == "syn-retransmitting")
        #expect((w["prediction_basis"] as? String)?.contains("TCP_SYNCNT 2 read from the socket of pid") == true, "\(w)")
        #expect(w.time < failedAt - 3, "the warning comes while connect() still waits")
        #expect(o.mechanism == "syn-retries-exhausted")
        #expect((o["prediction_check"] as? String)?.hasPrefix("as predicted") == true, "\(o)")
        #expect(abs(o.time - failedAt) < 1.0, "reported \(o.time - failedAt) s after connect() failed")
        try s.finishAndCompareWithAnalyze()
    }

    @Test func keepaliveDeathIsPredictedThenReported() throws {
        guard WatchGate.enabled else { return }
        let s = try Session()
        try s.lab.startPeer(["python3", "-c", EchoServer.script, "7000"], readyPort: 7000)
        let script = """
        import socket, time
        s = socket.create_connection(("10.213.0.2", 7000))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
        s.sendall(b"x"); s.recv(1)
        try:
            s.recv(1)
        except OSError as e:
            print(time.time(), e.errno, flush=True)
        """
        let client = try startIn(s.lab.clientNamespace, ["python3", "-c", script])
        defer { if client.isRunning { client.terminate() } }
        usleep(400_000)
        try s.lab.cut(port: 7000)
        client.waitUntilExit()
        let out = String(decoding: (client.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let parts = out.split(separator: " ")
        let failedAt = try #require(parts.first.flatMap { Double($0) }, "client: \(out)")
        #expect(parts.dropFirst().first.map { $0.hasPrefix("110") } == true, "recv should fail with ETIMEDOUT: \(out)")
        #expect(s.watch.waitFor(timeout: 2) { $0.phase == "outcome" }, "\(s.watch.stdout)")
        let mine = s.findings(server: "10.213.0.2:7000")
        let warnings = mine.filter { $0.phase == "in-progress" }
        let outcomes = mine.filter { $0.phase == "outcome" }
        try #require(warnings.count == 1 && outcomes.count == 1, "\(s.watch.stdout)")
        #expect(warnings[0]["kind"] as? String == "keepalive-unanswered")
        #expect((warnings[0]["prediction_basis"] as? String)?.contains("KEEPIDLE 1 s, KEEPINTVL 1 s, KEEPCNT 2 read from the socket") == true, "\(warnings[0])")
        let o = outcomes[0]
        #expect(o.mechanism == "keepalive")
        #expect((o["prediction_check"] as? String)?.hasPrefix("as predicted") == true, "\(o)")
        #expect(abs(o.time - failedAt) < 1.0, "reported \(o.time - failedAt) s after recv() failed")
        // The client's RST decides it: printed within 100 ms of that packet on the capture's
        // clock (the issue's goal; measured 5-10 ms: the block timeout and one wake-up).
        let decidedAt = try #require((o["outcome"] as? [String: Any])?["detected_at"] as? Double)
        let t = try #require(o["t"] as? Double)
        #expect(t - decidedAt < 0.1, "printed \(t - decidedAt) s after the RST")
        try s.finishAndCompareWithAnalyze()
    }

    @Test func retransmissionsIntoSilenceEndAtTheUserTimeout() throws {
        guard WatchGate.enabled else { return }
        let s = try Session()
        try s.lab.startPeer(["python3", "-c", EchoServer.script, "7003"], readyPort: 7003)
        let script = """
        import socket, sys, time
        s = socket.create_connection(("10.213.0.2", 7003))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 3000)
        s.sendall(b"x"); s.recv(1)
        sys.stdin.readline()
        s.sendall(b"y" * 100)
        try:
            s.recv(1)
        except OSError as e:
            print(time.time(), e.errno, flush=True)
        """
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        client.arguments = ["netns", "exec", s.lab.clientNamespace, "python3", "-c", script]
        let input = Pipe(), output = Pipe()
        client.standardInput = input
        client.standardOutput = output
        try client.run()
        defer { if client.isRunning { client.terminate() } }
        usleep(500_000)
        try s.lab.cut(port: 7003)
        input.fileHandleForWriting.write(Data("go\n".utf8))
        client.waitUntilExit()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let parts = out.split(separator: " ")
        let failedAt = try #require(parts.first.flatMap { Double($0) }, "client: \(out)")
        #expect(parts.dropFirst().first.map { $0.hasPrefix("110") } == true, "recv should fail with ETIMEDOUT: \(out)")
        #expect(s.watch.waitFor(timeout: 4) { $0.phase == "outcome" }, "\(s.watch.stdout)")
        let mine = s.findings(server: "10.213.0.2:7003")
        let warnings = mine.filter { $0.phase == "in-progress" }
        let outcomes = mine.filter { $0.phase == "outcome" }
        try #require(warnings.count == 1 && outcomes.count == 1, "\(s.watch.stdout)")
        #expect(warnings[0]["kind"] as? String == "retransmitting")
        #expect((warnings[0]["prediction_basis"] as? String)?.contains("TCP_USER_TIMEOUT 3 s read from the socket") == true, "\(warnings[0])")
        let o = outcomes[0]
        #expect(o.mechanism == "user-timeout", "\(o)")
        // Giving up sends nothing: as analyze judges it, the outcome is known once the next
        // retransmission, due twice the last gap after the last one, has not come — with a 3 s
        // user timeout that is up to ~2 s after the give-up (the warning said when, at once).
        #expect(o.time - failedAt < 5.0, "reported \(o.time - failedAt) s after recv() failed")
        #expect((o["prediction_check"] as? String)?.hasPrefix("as predicted: user-timeout") == true, "\(o)")
        // A later packet, so the file covers the silence after the last retransmission as the
        // live run did (a capture ending at the last retransmission cannot tell it stopped).
        _ = try? runIn(s.lab.clientNamespace, ["python3", "-c", "import socket\ntry: socket.create_connection(('10.213.0.2', 7999), timeout=2)\nexcept OSError: pass"])
        try s.finishAndCompareWithAnalyze()
    }

    @Test func killedNghttpdMidStreamIsReportedOnce() throws {
        guard WatchGate.enabled else { return }
        let s = try Session()
        // A download far larger than the socket buffers, read slowly: nghttpd is killed with
        // the stream open and data still queued (its kernel sends the FIN after that data).
        let directory = try s.lab.makeContentDirectory(files: ["huge.bin": 32 << 20])
        let server = try s.lab.startPeer(["nghttpd", "--no-tls", "-d", directory, "8080"], readyPort: 8080)
        let client = try startIn(s.lab.clientNamespace, ["curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge", "--limit-rate", "2M",
                                                         "http://10.213.0.2:8080/huge.bin"])
        defer { if client.isRunning { client.terminate() } }
        usleep(1_500_000)
        let killedAt = Date().timeIntervalSince1970
        server.send(signal: SIGKILL)
        #expect(s.watch.waitFor(timeout: 8) { $0.phase == "outcome" }, "\(s.watch.stdout)")
        let outcomes = s.findings(server: "10.213.0.2:8080").filter { $0.phase == "outcome" }
        try #require(outcomes.count == 1, "\(s.watch.stdout)")
        let o = outcomes[0]
        #expect(["peer-rst", "peer-fin"].contains(o.mechanism ?? ""), "\(o)")
        #expect(o["protocol"] as? String == "http2")
        #expect((o["summary"] as? String)?.contains("HTTP/2 stream was open when the connection ended") == true, "\(o)")
        // The server's FIN under the open stream decides it: the first finding on this connection
        // (the warning at the FIN, or the outcome when the close is at once, as with an RST)
        // is printed within one judging tick (100 ms) of that packet, on the capture's axis.
        let decidedAt = try #require((o["outcome"] as? [String: Any])?["detected_at"] as? Double)
        let first = try #require(s.findings(server: "10.213.0.2:8080").first)
        let t = try #require(first["t"] as? Double)
        #expect(t - decidedAt < 0.2, "first finding \(t - decidedAt) s after the closing packet: \(first)")
        // The outcome itself follows the close's settle delay (5 s of quiet); 2 s of slack for
        // a loaded or sanitized run (ASan measured 6.03 s). The promptness that matters is the
        // first finding's, checked above to 0.2 s.
        #expect(o.time - killedAt < 7, "the kill was \(o.time - killedAt) s before the report")
        client.waitUntilExit()
        try s.finishAndCompareWithAnalyze()
    }

    @Test func grpcMaxConnectionAgeDrainIsReportedOnce() throws {
        guard WatchGate.enabled else { return }
        let s = try Session()
        let (_, port) = try s.lab.startHTTP2Server(.grpc, grpcOptions: ["grpc.max_connection_age_ms": 1500, "grpc.max_connection_age_grace_ms": 1000])
        let script = """
        import grpc, sys, time
        ch = grpc.insecure_channel("10.213.0.2:%s" % sys.argv[1])
        watch = ch.unary_stream("/conndiag.Lab/Watch", request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            for _ in watch(b""):
                pass
        except grpc.RpcError as e:
            print(time.time(), e.code().name, flush=True)
        time.sleep(1.5)
        """
        let (_, out) = try runIn(s.lab.clientNamespace, ["python3", "-c", script, String(port)])
        let parts = out.split(separator: " ")
        let failedAt = try #require(parts.first.flatMap { Double($0) }, "client: \(out)")
        #expect(s.watch.waitFor(timeout: 2) { $0.phase == "outcome" && ($0["server"] as? String) == "10.213.0.2:\(port)" }, "\(s.watch.stdout)")
        let outcomes = s.findings(server: "10.213.0.2:\(port)").filter { $0.phase == "outcome" }
        try #require(outcomes.count == 1, "\(s.watch.stdout)")
        let o = outcomes[0]
        #expect(o.mechanism == "goaway-grace-expired", "\(o)")
        #expect(o["protocol"] as? String == "grpc")
        #expect(abs(o.time - failedAt) < 1.0, "reported \(o.time - failedAt) s after the RPC failed")
        try s.finishAndCompareWithAnalyze()
    }

    @Test func sigtermMidRunGivesAValidDocument() throws {
        guard WatchGate.enabled else { return }
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        let watch = try WatchProcess(["watch", "--netns", lab.clientNamespace, "--format", "json"])
        usleep(1_000_000)
        #expect(watch.stop(signal: SIGTERM) == 0, "\(watch.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(watch.stdout.utf8)) as? [String: Any], "\(watch.stdout)")
        #expect(doc["command"] as? String == "watch")
        #expect(doc["interrupted"] as? Bool == true)
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect(summary["stopped_by"] as? String == "interrupted")
        #expect(summary["packets_dropped"] as? Int == 0)
    }
}

/// A one-line echo server for the keepalive test.
enum EchoServer {
    static let script = """
    import socket, sys, threading
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(sys.argv[1]))); srv.listen(16)
    def serve(c):
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """
}
