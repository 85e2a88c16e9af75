import Testing
@testable import ConnDiagInspect
import ConnDiagCore

/// The zero-window give-up model (Linux tcp_probe_timer), the keepalive inferred without the
/// options, and how a process's exit closed its sockets: pure, no root.
@Suite struct ZeroWindowAndExitTests {
    func socket(_ state: TCPState, timer: SockDiagTimer, expiresMs: UInt32, info: TCPInfoFields?, recvQ: UInt32 = 0) -> SockDiagSocket {
        SockDiagSocket(family: 2, state: state, timer: timer, timerRetransmits: info?.probes ?? 0, expiresMs: expiresMs,
                       localAddress: [10, 0, 0, 1], localPort: 40000, remoteAddress: [10, 0, 0, 2], remotePort: 5432,
                       cookie: 7, receiveQueue: recvQ, info: info)
    }

    @Test func retries2UnansweredProbesFromTheBackoffReached() {
        // tcp_retries2 3, RTO 200 ms, backoff 1 (one answered probe), the timer in 300 ms:
        // probes at 0.3 (backoff 2 -> 0.8 s), 1.1 (3 -> 1.6 s), 2.7 (capped at 3 -> 1.6 s),
        // abort at 4.3 s when probes_out reaches 3.
        let z = ZeroWindowProbeSchedule(expires: 0.3, probesOut: 0, backoff: 1, rto: 0.2, retries2: 3)
        #expect(z.mechanism == .retransmissionLimit)
        #expect(z.firings.map { ($0 * 1000).rounded() } == [300, 1100, 2700, 4300])
        #expect(abs(z.giveUpAt - 4.3) < 1e-9 && z.probesLeft == 3)
        // Two probes already unanswered: one more, then the abort.
        let late = ZeroWindowProbeSchedule(expires: 0.5, probesOut: 2, backoff: 3, rto: 0.2, retries2: 3)
        #expect(abs(late.giveUpAt - 2.1) < 1e-9 && late.probesLeft == 1)
    }

    @Test func userTimeoutCountsFromTheFirstProbeAndClampsTheTimer() {
        // UT 2 s, no probe yet: first firing at 0.2 s starts the clock; probes at 0.2, 0.6,
        // 1.4; the next interval 1.6 s is clamped to the 0.8 s left: abort at 2.2 s.
        let z = ZeroWindowProbeSchedule(expires: 0.2, probesOut: 0, backoff: 0, rto: 0.2, retries2: 15, userTimeout: 2)
        #expect(z.mechanism == .userTimeout)
        #expect(abs(z.giveUpAt - 2.2) < 1e-9)
        // Backoff 3 with the timer in 1 s: the episode began 0.4 + 0.8 + (1.6 - 1.0) = 1.8 s ago,
        // so UT 5 s ends 3.2 s from now (the interval after the next firing is clamped).
        let est = ZeroWindowProbeSchedule(expires: 1.0, probesOut: 0, backoff: 3, rto: 0.2, retries2: 15, userTimeout: 5)
        #expect(est.mechanism == .userTimeout && abs(est.giveUpAt - 3.2) < 1e-9)
    }

    @Test func predictionOnAZeroWindowSocket() {
        var kernel = KernelSettings(tcpRetries2: 3)
        kernel.hz = 250
        let s = socket(.established, timer: .zeroWindowProbe, expiresMs: 300, info: TCPInfoFields(probes: 0, backoff: 1, rtoMicros: 200_000))
        let p = DeathPrediction.predict(s, options: nil, kernel: kernel)
        let z = ZeroWindowProbeSchedule(expires: 0.3, probesOut: 0, backoff: 1, rto: 0.2, retries2: 3, hz: 250)
        #expect(p.mechanism == .retransmissionLimit && p.seconds == z.giveUpAt)
        #expect(p.explanation.contains("zero window") && p.explanation.contains("TCP_USER_TIMEOUT unknown, assumed 0"))
        // The wheel fires the 0.8 s and 1.6 s timers a little late, never early.
        #expect(z.giveUpAt >= 4.3 && z.giveUpAt < 4.3 * 1.03)
    }

    @Test func keepaliveInferredFromTheArmedTimer() {
        let kernel = KernelSettings()
        let armed = socket(.established, timer: .keepalive, expiresMs: 5000, info: TCPInfoFields())
        #expect(InferredOptions.keepaliveOn(armed))
        let p = DeathPrediction.predict(armed, options: nil, kernel: kernel)
        #expect(p.kind == .none && p.mechanism == .keepalive)
        #expect(p.explanation.contains("inferred from the armed keepalive timer") && p.explanation.contains("KEEPIDLE/KEEPINTVL/KEEPCNT unknown"))
        let c = InspectedConnection(index: 1, socket: armed, owner: nil, options: .unknown("unknown (no ptrace rights)"), prediction: p, sampledAt: 0)
        guard case .object(let pairs) = c.json, case .object(let inferred)? = pairs.first(where: { $0.0 == "inferred_options" })?.1 else {
            Issue.record("no inferred_options"); return
        }
        #expect(inferred.first?.1 == .bool(true))
        // FIN_WAIT2's timer is the orphan timeout, not keepalive; no timer proves nothing.
        #expect(!InferredOptions.keepaliveOn(socket(.finWait2, timer: .keepalive, expiresMs: 5000, info: TCPInfoFields())))
        #expect(!InferredOptions.keepaliveOn(socket(.established, timer: .none, expiresMs: 0, info: TCPInfoFields())))
    }

    @Test func processExitCloseFromTheSocketsState() {
        func connection(_ s: SockDiagSocket) -> InspectedConnection {
            InspectedConnection(index: 1, socket: s, owner: nil, options: .unknown("x"),
                                prediction: DeathPrediction(kind: .none, mechanism: .none, explanation: "-"), sampledAt: 1)
        }
        let established = socket(.established, timer: .none, expiresMs: 0, info: TCPInfoFields())
        let fin = ConnectionFollower.exitClose(of: connection(established), now: socket(.finWait2, timer: .none, expiresMs: 0, info: nil), exitedAt: 2, wire: nil)
        #expect(fin.kernelSent == "FIN" && fin.evidence.contains("FIN_WAIT2"))
        // The send queue counts the FIN (one sequence number) until it is acknowledged.
        var queued = socket(.finWait1, timer: .zeroWindowProbe, expiresMs: 100, info: nil)
        queued.sendQueue = 4097
        let held = ConnectionFollower.exitClose(of: connection(established), now: queued, exitedAt: 2, wire: nil)
        #expect(held.kernelSent == "FIN queued" && held.evidence.contains("4096 unsent bytes"))
        var unacknowledgedFIN = socket(.finWait1, timer: .retransmit, expiresMs: 200, info: nil)
        unacknowledgedFIN.sendQueue = 1
        let sent = ConnectionFollower.exitClose(of: connection(established), now: unacknowledgedFIN, exitedAt: 2, wire: nil)
        #expect(sent.kernelSent == "FIN" && sent.evidence.contains("FIN_WAIT1"))
        var info = TCPInfoFields()
        info.notSentBytes = 300
        var withInfo = socket(.finWait1, timer: .zeroWindowProbe, expiresMs: 100, info: info)
        withInfo.sendQueue = 5000
        #expect(ConnectionFollower.exitClose(of: connection(established), now: withInfo, exitedAt: 2, wire: nil).evidence.contains("300 unsent bytes"))
        let unread = socket(.established, timer: .none, expiresMs: 0, info: TCPInfoFields(), recvQ: 100)
        let rst = ConnectionFollower.exitClose(of: connection(unread), now: nil, exitedAt: 2, wire: nil)
        #expect(rst.kernelSent == "RST" && rst.evidence.contains("100 bytes were unread"))
        let unknown = ConnectionFollower.exitClose(of: connection(established), now: nil, exitedAt: 2, wire: nil)
        #expect(unknown.kernelSent == nil && unknown.evidence.contains("no capture"))
    }

    @Test func captureFilterFromTheFourTuples() {
        let s = socket(.established, timer: .none, expiresMs: 0, info: nil)
        let key = try! #require(FollowCapture.key(s))
        let f = FollowCapture.filter([(key.local, key.remote)])
        #expect(f.hasPrefix("(tcp and ((host 10.0.0.1 and port 40000 and host 10.0.0.2 and port 5432))) or (icmp"))
        // Beyond 64 flows the BPF program would be too long: all TCP, matched in userland.
        let many = (0..<65).map { _ in (key.local, key.remote) }
        #expect(FollowCapture.filter(many).hasPrefix("tcp or (icmp"))
        // An IPv4-mapped IPv6 socket sends IPv4 packets.
        var mapped = s
        mapped.family = 10
        mapped.localAddress = [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 1]
        mapped.remoteAddress = [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 2]
        #expect(FollowCapture.key(mapped) == key)
    }
}
