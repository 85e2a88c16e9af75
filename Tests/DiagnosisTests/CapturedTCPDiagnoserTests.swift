import Testing
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket

/// The offline TCP verdicts on connections built segment by segment in the test; the
/// expected moments are the kernel's schedules written out by hand.
struct CapturedTCPDiagnoserTests {
    typealias Flow = TCPConnectionTrackerTests.Flow

    @Test func synRetriesMatchTheLinearThenDoublingSchedule() {
        // SYNs at 0..5 s one second apart: TCP_SYNCNT 2 with tcp_syn_linear_timeouts 4, so
        // the kernel gives up 7 s after the first SYN (it sends nothing then: predicted).
        let f = Flow()
        for i in 0..<6 { f.send(0, .syn, seq: 1000, at: Double(i)) }
        let d = CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 9, retries2: 15).handshakeOrSilence()
        #expect(d?.outcome.mechanism == .synRetriesExhausted)
        #expect(d?.outcome.predictedAt == 7)
        #expect(d?.outcome.extra.first { $0.0 == "syncnt" }?.1 == .int(2))
        #expect(d?.findings.first?.kind == "syn-retries-exhausted")
    }

    @Test func anRSTToTheSYNIsARefusal() {
        let f = Flow()
        f.send(0, .syn, seq: 1000, at: 0)
        f.send(1, [.rst, .ack], seq: 0, ack: 1001, at: 0.0002)
        let d = CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 1, retries2: 15).handshakeOrSilence()
        #expect(d?.outcome.status == .refused && d?.outcome.mechanism == .rst)
        #expect(d?.outcome.errno == "ECONNREFUSED")
    }

    @Test func unansweredProbesThenTheProbersRSTIsKeepalive() {
        // The server last spoke at 1.0; probes at 3, 4, 5 (KEEPIDLE 2, KEEPINTVL 1), the
        // client's RST at 6: KEEPCNT 3 aborts at 1 + 2 + 3 x 1 = 6.
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 10, at: 0.9)
        f.send(1, .ack, seq: 5001, ack: 1011, at: 1.0)
        for t in [3.0, 4.0, 5.0] { f.send(0, .ack, seq: 1010, ack: 5001, at: t) }
        f.send(0, [.rst, .ack], seq: 1011, ack: 5001, at: 6.0)
        let d = CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 6, retries2: 15).handshakeOrSilence()
        #expect(d?.outcome.mechanism == .keepalive)
        #expect(d?.outcome.detectedAt == 6.0)
        #expect(abs((d?.outcome.predictedAt ?? 0) - 6.0) < 1e-9)
        #expect(d?.findings.first?.kind == "keepalive-death")
    }

    @Test func aCleanCloseIsThePeersFIN() {
        let f = Flow()
        f.establish()
        f.send(1, [.fin, .ack], seq: 5001, ack: 1001, at: 2.0)
        f.send(0, [.fin, .ack], seq: 1001, ack: 5002, at: 2.001)
        let t = CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 3, retries2: 15)
        #expect(t.handshakeOrSilence() == nil)
        let d = t.close()
        #expect(d.outcome.mechanism == .peerFin && d.outcome.detectedAt == 2.0)
        #expect(d.outcome.summary.hasSuffix("the client answered with its FIN at t=2.001 s"))
    }

    @Test func anRSTNotAcknowledgingTheSYNIsIgnored() {
        // RFC 9293 §3.10.7.3: in SYN-SENT only an RST whose ACK acknowledges the SYN counts.
        let f = Flow()
        f.send(0, .syn, seq: 1000, at: 0)
        f.send(1, [.rst, .ack], seq: 0, ack: 1000, at: 0.1)
        #expect(f.tracker.sides[1].rstAt == nil && f.tracker.sides[1].ignoredRSTs == 1)
        let t = CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 5, retries2: 15)
        #expect(t.notes().contains { $0.kind == "rst-ignored" })
    }

    @Test func aSingleSYNNeedsASecondOfCaptureAfterIt() {
        let f = Flow()
        f.send(0, .syn, seq: 1000, at: 0)
        #expect(CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 0.4, retries2: 15).handshakeOrSilence()?.outcome.status == .undetermined)
        #expect(CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 1.5, retries2: 15).handshakeOrSilence()?.outcome.status == .timeout)
    }

    @Test func probesThePeerOutlivedAreNoDeadPeer() {
        // The server closes (FIN) after the client's probes: it was alive.
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 10, at: 0.9)
        f.send(1, .ack, seq: 5001, ack: 1011, at: 1.0)
        for t in [3.0, 4.0] { f.send(0, .ack, seq: 1010, ack: 5001, at: t) }
        f.send(1, [.fin, .ack], seq: 5001, ack: 1011, at: 4.5)
        let d = CapturedTCPDiagnoser(tracker: f.tracker, captureEnd: 5, retries2: 15)
        #expect(d.handshakeOrSilence() == nil)
        #expect(d.close().outcome.mechanism == .peerFin)
    }
}
