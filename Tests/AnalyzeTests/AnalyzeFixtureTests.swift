import ConnDiagAnalyze
import ConnDiagCore
import Testing

/// Captures recorded in the lab, each analysed for its outcome, mechanism and key times.
@Suite struct AnalyzeFixtureTests {
    @Test func synRetriesToABlackhole() throws {
        // conndiag syn-timeout --lab --lab-fault blackhole --write-pcap (syncnt 2, linear 4).
        let r = try Fixture.analyze("syn-blackhole")
        let c = try #require(r.connections.first)
        #expect(r.connections.count == 1)
        #expect(c.outcome.status == .timeout)
        #expect(c.outcome.mechanism == .synRetriesExhausted)
        #expect(c.clientChosenBy == "syn")
        #expect(c.server.port == 8081)
        let retransmits = c.events("syn-retransmit").map(\.t)
        #expect(retransmits.count == 5)
        for (i, t) in retransmits.enumerated() { #expect(near(t, Double(i + 1), 0.15)) }
        #expect(c.extra("syncnt")?.int == 2)
        #expect(near(c.outcome.predictedAt, 7.0))
        #expect(r.findings.first?.kind == "syn-retries-exhausted")
    }

    @Test func keepaliveDeath() throws {
        // keepalive-test --lab --cut-after 1s --keepalive --keepidle 2 --keepintvl 1 --keepcnt 3
        let r = try Fixture.analyze("keepalive-death")
        let c = try #require(r.connections.first)
        #expect(c.outcome.status == .detected)
        #expect(c.outcome.mechanism == .keepalive)
        #expect(near(c.outcome.detectedAt, 5.10))
        #expect(near(c.outcome.predictedAt, 5.0))
        let probes = c.events("keepalive-probe")
        #expect(probes.count == 3)
        #expect(probes.allSatisfy { $0.direction == .out })
        #expect(near(probes.first?.t, 2.03))
        #expect(near(c.extra("keepidle_s_observed")?.double, 2.0, 0.1))
        #expect(near(c.extra("keepintvl_s_observed")?.double, 1.0, 0.1))
        #expect(c.events("rst").first?.direction == .out)
        #expect(c.outcome.summary.contains("3 keepalive probes unanswered; the client reset the connection"))
    }

    @Test func retransmissionsUntilUserTimeout() throws {
        // make-user-timeout.py: TCP_USER_TIMEOUT 3 s, flow cut, data written; the capture
        // goes on (UDP heartbeat) after the sender gave up.
        let r = try Fixture.analyze("user-timeout")
        let c = try #require(r.connections.first { $0.server.port == 7000 })
        #expect(c.outcome.status == .detected)
        #expect(c.outcome.mechanism == .userTimeout)
        #expect(c.events("retransmit").count == 5)
        let rs = try #require(c.extra("first_rto_retransmission_at")?.double)
        let after = try #require(c.extra("gave_up_after")?.double)
        let by = try #require(c.extra("gave_up_by")?.double)
        // The kernel gave up at rs + 3 s: inside the window the capture allows.
        #expect(after < rs + 3.0 && rs + 3.0 <= by)
        #expect(near(rs, 1.43, 0.1))
        #expect(c.outcome.explanation?.contains("TCP_USER_TIMEOUT between") == true)
    }

    @Test func grpcMaxAgeDrain() throws {
        // goaway-trace --lab grpc --max-connection-age 2s --max-connection-age-grace 1s --grpc /conndiag.Lab/Watch --server-stream
        let r = try Fixture.analyze("grpc-drain")
        let c = try #require(r.connections.first)
        #expect(c.protocolName == "grpc")
        #expect(c.outcome.status == .closed)
        #expect(c.outcome.mechanism == .goawayGraceExpired)
        #expect(c.extra("double_goaway") == .bool(true))
        #expect(near(c.extra("connection_age_s")?.double, 2.16, 0.1))
        #expect(near(c.extra("grace_s")?.double, 1.0, 0.1))
        #expect(c.events("goaway").count == 2)
        #expect(c.events("ping-ack").count >= 1)
        let trailers = try #require(c.events("trailers").first)
        #expect(trailers.detail.contains("grpc-status=14"))
        let stream = try #require(c.streams.first)
        // Trailers with END_STREAM, then RST_STREAM(NO_ERROR): completed (RFC 9113 §8.1).
        #expect(stream["end"]?.string == "completed")
        #expect(stream["grpc_status"]?.string == "UNAVAILABLE")
        #expect(stream["path"]?.string == "/conndiag.Lab/Watch")
        #expect(stream["clients"]?["grpc-go"]?["status"]?.string == "UNAVAILABLE")
    }

    @Test func proxyResetsStreamWithInternalError() throws {
        // goaway-trace --lab nghttpx --keep-request-open --upstream-kill-after 1s
        let r = try Fixture.analyze("proxy-reset")
        let c = try #require(r.connections.first)
        #expect(c.protocolName == "http2")
        #expect(c.outcome.status == .error)
        #expect(c.extra("error_code")?.string == "INTERNAL_ERROR")
        #expect(near(c.outcome.detectedAt, 1.0, 0.1))
        let rst = try #require(c.events("rst-stream").first)
        #expect(rst.direction == .in)
        #expect(c.streams.first?["clients"]?["grpc-go"]?["status"]?.string == "INTERNAL")
        #expect(r.findings.contains { $0.kind == "rst-stream" && $0.severity == .warning })
    }

    @Test func flowControlStallFromTheStart() throws {
        // make-stall.py: grpcio bidi call, both sides send 64 KiB messages, neither reads.
        let r = try Fixture.analyze("flow-control-stall")
        let c = try #require(r.connections.first)
        #expect(c.outcome.status == .detected)
        #expect(c.extra("diagnosis")?.string == "flow-control-stall")
        #expect(c.outcome.mechanism == .flowControlStall)
        #expect(c.extra("window_known") == .bool(true))
        #expect((c.extra("pings_answered_during_stall")?.int ?? 0) >= 5)
        #expect((c.extra("stall_s")?.double ?? 0) > 10)
        let stalls = r.findings.filter { $0.kind == "flow-control-stall" }
        #expect(stalls.count == 2)   // both directions: the bidirectional deadlock
        #expect(stalls.allSatisfy { near($0.t, 0.004, 0.01) })
        #expect(c.outcome.summary.contains("both directions are stalled"))
        #expect(c.events("headers").first?.detail.contains(":path=/conndiag.Stall/Bidi") == true)
    }

    @Test func flowControlStallMidConnection() throws {
        // The same capture without its handshake, SETTINGS and the request HEADERS. Both
        // ports are ephemeral-looking, so --port names the server.
        let path = Fixture.cut("flow-control-stall", droppingFirst: 11)
        let r = try Fixture.analyze(path: path) { $0.ports = [50077] }
        let c = try #require(r.connections.first)
        #expect(c.midConnection)
        #expect(c.clientChosenBy == "port")
        #expect(c.client.port == 36710)
        #expect(c.protocolName != "tcp")
        #expect(c.events("ping").count >= 5)
        #expect(c.events("ping-ack").count >= 5)
        #expect(c.events("h2-sync").count >= 1)
        #expect(c.extra("diagnosis")?.string == "flow-control-stall")
        #expect(c.extra("window_known") == .bool(false))
        #expect(r.findings.contains { $0.kind == "flow-control-stall" })
    }

    @Test func keepaliveDeathMidConnection() throws {
        // Without the handshake: the server is the lower port, the probes still count.
        let path = Fixture.cut("keepalive-death", droppingFirst: 3)
        let r = try Fixture.analyze(path: path)
        let c = try #require(r.connections.first)
        #expect(c.midConnection)
        #expect(c.server.port == 7)
        #expect(c.outcome.mechanism == .keepalive)
    }

    @Test func jsonContract() throws {
        let r = try Fixture.analyze("grpc-drain")
        let doc = r.report(settings: []).json()
        #expect(doc["command"]?.string == "analyze")
        #expect(doc["schema"]?.string == "conndiag/1")
        guard case .array(let conns)? = doc["connections"], let first = conns.first else { Issue.record("no connections[]"); return }
        #expect(first["outcome"]?["mechanism"]?.string == "goaway-grace-expired")
        #expect(first["target"]?["port"]?.int == 50051)
        guard case .array(let findings)? = doc["findings"] else { Issue.record("no findings[]"); return }
        #expect(findings.first?["severity"]?.string == "warning")
    }

    @Test func filtersSelectConnections() throws {
        #expect(try Fixture.analyze("grpc-drain") { $0.ports = [9999] }.connections.isEmpty)
        #expect(try Fixture.analyze("grpc-drain") { $0.filter = "tcp port 9999" }.connections.isEmpty)
        #expect(try Fixture.analyze("grpc-drain") { $0.ports = [50051] }.connections.count == 1)
    }

    @Test func severalFilesInOrder() throws {
        let r = try AnalyzeEngine(options: AnalyzeOptions(files: [Fixture.path("syn-blackhole"), Fixture.path("keepalive-death")])).run()
        #expect(r.connections.count == 2)
        #expect(r.findings.count >= 2)
    }

    @Test func maxConnectionsEvictsTheOldestIdle() throws {
        let r = try AnalyzeEngine(options: AnalyzeOptions(files: [Fixture.path("syn-blackhole"), Fixture.path("keepalive-death")], maxConnections: 1)).run()
        #expect(r.connections.count == 2)
        #expect(r.connections.first?.notes.first?.contains("evicted") == true)
        #expect(r.inputProblems.contains { $0.contains("evicted") })
    }
}
