import Testing
import Foundation
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagTCP

/// keepalive-test cases of issue 3 against real peers (Python echo peer, nghttpd) in a lab.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct TimingKeepaliveLabTests {
    func run(traffic: TrafficMode, cutAfter: Double? = nil, peerClose: PeerCloseKind? = nil,
             configure: (inout KeepaliveConfig) -> Void) throws -> Report {
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        var c = KeepaliveConfig(target: TargetSpec(host: "lab", port: 1))
        c.traffic = traffic
        configure(&c)
        try lab.prepareKeepalive(&c, cutAfter: cutAfter, peerClose: peerClose)
        return try KeepaliveEngine(config: c).run()
    }

    func events(_ r: Report, _ kind: EventKind) -> [Event] { r.allEvents.filter { $0.kind == kind } }
    func prediction(_ r: Report, _ key: String) -> JSONValue? {
        r.extras.first { $0.0 == "predictions" }?.1[key]
    }

    @Test func idleKeepaliveFindsTheDeadPeer() throws {
        let r = try run(traffic: .idle, cutAfter: 1) {
            $0.options = SocketOptions(keepalive: true, keepIdle: 2, keepIntvl: 1, keepCnt: 3)
        }
        #expect(r.outcome.status == .detected)
        #expect(r.outcome.mechanism == .keepalive)
        #expect(r.outcome.errno == "ETIMEDOUT")
        let probes = events(r, .keepaliveProbe)
        #expect(probes.count == 3)
        // Probes at the predicted times, detection within 200 ms of the prediction.
        guard case .array(let predicted)? = prediction(r, "keepalive_probes_at") else { Issue.record("no probe prediction"); return }
        #expect(predicted.count == 3)
        for (p, e) in zip(predicted, probes) {
            if case .double(let t) = p { #expect(abs(e.t - t) < 0.2, "probe at \(e.t), predicted \(t)") }
        }
        let d = try #require(r.outcome.detectedAt), p = try #require(r.outcome.predictedAt)
        #expect(abs(d - p) < 0.2, "detected \(d), predicted \(p)")
        // The kernel resets the connection when keepalive gives up.
        #expect(events(r, .rst).contains { $0.direction == .out })
    }

    @Test func userTimeoutWithUnackedData() throws {
        let r = try run(traffic: .send, cutAfter: 1) {
            $0.options = SocketOptions(userTimeoutMs: 3000)
            $0.writeInterval = 0.5
        }
        #expect(r.outcome.mechanism == .userTimeout)
        #expect(r.outcome.errno == "ETIMEDOUT")
        let re = events(r, .retransmit)
        #expect(re.count >= 3)
        // Backoff: the gaps between retransmissions grow.
        let gaps = zip(re.dropFirst(), re).map { $0.t - $1.t }
        #expect(gaps.last! > gaps.first!)
        let d = try #require(r.outcome.detectedAt), p = try #require(r.outcome.predictedAt)
        #expect(abs(d - p) < 0.3, "detected \(d), predicted \(p)")
    }

    @Test func withoutUserTimeoutTheRunOutlivesTheRetransmissions() throws {
        let r = try run(traffic: .send, cutAfter: 1) { $0.duration = 10 }
        #expect(r.outcome.status == .survived)
        #expect(r.outcome.mechanism == .none)
        #expect(events(r, .retransmit).count >= 4)
        // Predicted from tcp_retries2 (924.6 s for 15) after the first RTO retransmission.
        let p = try #require(r.outcome.predictedAt)
        let k = try #require(r.kernel)
        #expect(p > RetransmissionSchedule.retries2Budget(k.tcpRetries2))
        #expect(r.outcome.summary.contains("still retransmitting"))
        #expect(prediction(r, "retransmission_limit_at") != nil)
    }

    @Test func h2PingTimeoutOnAnOpenStream() throws {
        let r = try run(traffic: .h2, cutAfter: 1) { c in
            var p = H2KeepalivePolicy(authority: "lab")
            p.pingTime = 2; p.pingTimeout = 1; p.streams = 1
            c.h2Driver = H2PingKeepalive(policy: p)
        }
        #expect(r.outcome.mechanism == .h2PingTimeout)
        #expect(events(r, "ping").count == 1)
        #expect(events(r, "ping-ack").isEmpty)
        let d = try #require(r.outcome.detectedAt), p = try #require(r.outcome.predictedAt)
        #expect(abs(d - p) < 0.2, "detected \(d), predicted \(p)")
        #expect(!events(r, "settings").isEmpty)
    }

    func busy(client: GRPCClientFamily?) throws -> Report {
        try run(traffic: .h2, cutAfter: 2) { c in
            var p = H2KeepalivePolicy(authority: "lab")
            p.pingTime = 4; p.pingTimeout = 2; p.requestInterval = 0.5; p.client = client
            if client != nil { c.options.userTimeoutMs = 2000 }   // A18, as --grpc-client does
            c.h2Driver = H2PingKeepalive(policy: p)
        }
    }

    @Test func busyConnectionGoClientFoundByUserTimeoutWithoutPINGs() throws {
        let r = try busy(client: .go)
        #expect(r.outcome.mechanism == .userTimeout)
        #expect(events(r, "ping").isEmpty)
        #expect(r.outcome.extra.contains { $0.0 == "pings_sent" && $0.1 == .int(0) })
        let cut = try #require(events(r, "fault").first).t
        let d = try #require(r.outcome.detectedAt)
        // About 2 s after the first unacknowledged request (which follows the cut).
        #expect(d - cut > 2 && d - cut < 3.5, "cut \(cut), detected \(d)")
        #expect(r.outcome.explanation?.contains("PING") == true)
    }

    @Test func busyConnectionWithoutUserTimeoutFoundByPing() throws {
        let r = try busy(client: nil)
        #expect(r.outcome.mechanism == .h2PingTimeout)
        #expect(events(r, "ping").count == 1)
        let ping = try #require(events(r, "ping").first)
        let d = try #require(r.outcome.detectedAt)
        #expect(abs(d - ping.t - 2) < 0.2)
        // No PING while requests were answered: the PING follows the last read by ~4 s.
        let lastRead = try #require(events(r, "headers").filter { $0.direction == .in }.last).t
        #expect(abs(ping.t - lastRead - 4) < 0.6, "ping \(ping.t) last read \(lastRead)")
    }

    @Test func peerRSTAndFIN() throws {
        let rst = try run(traffic: .idle, peerClose: .rst) { $0.duration = 5 }
        #expect(rst.outcome.mechanism == .peerRst)
        #expect(rst.outcome.errno == "ECONNRESET")
        #expect(events(rst, .rst).contains { $0.direction == .in })
        let fin = try run(traffic: .idle, peerClose: .fin) { $0.duration = 5 }
        #expect(fin.outcome.mechanism == .peerFin)
        #expect(events(fin, .fin).contains { $0.direction == .in })
        let a = try #require(fin.outcome.detectedAt), close = try #require(events(fin, "fault").first).t
        #expect(a - close < 0.1)
    }
}
