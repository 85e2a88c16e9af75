import ConnDiagCore
import ConnDiagDiagnosis
import Glibc
import Testing

/// The dead-peer verdicts on evidence built here, no root or network: the expected moments
/// are the kernel's rules (tcp_keepalive_timer, tcp_retransmit_timer with TCP_USER_TIMEOUT,
/// gRPC A8), written out by hand, not read from the diagnoser.
@Suite struct DeadPeerDiagnoserTests {
    /// Textbook timers (no timer-wheel rounding) and Linux's default sysctls.
    let kernel: KernelSettings = { var k = KernelSettings(); k.hz = nil; return k }()

    func settings(keepalive: Bool = true, idle: Int = 2, intvl: Int = 1, cnt: Int = 3, utMs: Int = 0) -> DeadPeerSettings {
        DeadPeerSettings(keepalive: keepalive, keepIdle: idle, keepIntvl: intvl, keepCnt: cnt, userTimeoutMs: utMs)
    }

    func obs(_ t: Double, _ d: Direction, _ k: FlowObservation.Kind) -> FlowObservation { FlowObservation(t: t, direction: d, kind: k) }

    func diagnose(_ e: DeadPeerEvidence) -> DeadPeerDiagnoser.Verdict { DeadPeerDiagnoser(kernel: kernel).diagnose(e) }

    @Test func idlePeerFoundByKeepaliveAfterIdlePlusIntervalTimesCount() {
        // Last segment from the peer at 1.0; probes at 1+2, 1+3, 1+4; abort at 1 + 2 + 1x3 = 6.
        let wire = [obs(0.5, .out, .data), obs(1.0, .in, .data),
                    obs(3.0, .out, .keepaliveProbe(1)), obs(4.0, .out, .keepaliveProbe(2)), obs(5.0, .out, .keepaliveProbe(3)),
                    obs(6.0, .out, .rst)]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 6.01, how: .socketError(ETIMEDOUT)), stopAt: 6.01,
                                          interrupted: false, settings: settings(), wire: wire, tcpInfo: []))
        #expect(v.outcome.status == .detected)
        #expect(v.outcome.mechanism == .keepalive)
        #expect(v.outcome.errno == "ETIMEDOUT")
        #expect(abs((v.outcome.predictedAt ?? 0) - 6.0) < 1e-9)
        #expect(v.outcome.extra.first { $0.0 == "keepalive_probes" }?.1 == .int(3))
        #expect(v.predictions.first { $0.0 == "keepalive_probes_at" }?.1 == .array([.double(3), .double(4), .double(5)]))
    }

    @Test func userTimeoutReplacesKeepcntOnAnIdleConnection() {
        // KEEPIDLE 2, KEEPINTVL 1, KEEPCNT 9, UT 3.5 s: abort at the first probe firing with
        // idle >= 3.5 s and a probe out: probes at +2, +3, then the firing at +4.
        let wire = [obs(1.0, .in, .data), obs(3.0, .out, .keepaliveProbe(1)), obs(4.0, .out, .keepaliveProbe(2))]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 5.0, how: .socketError(ETIMEDOUT)), stopAt: 5.0,
                                          interrupted: false, settings: settings(cnt: 9, utMs: 3500), wire: wire, tcpInfo: []))
        #expect(v.outcome.mechanism == .userTimeout)
        #expect(abs((v.outcome.predictedAt ?? 0) - 5.0) < 1e-9)
        #expect(v.outcome.summary.contains("TCP_USER_TIMEOUT on an idle connection (2 keepalive probes unanswered)"))
    }

    @Test func unackedDataEndsAtFirstRTORetransmissionPlusUserTimeout() {
        // A tail-loss probe at 1.2, the first RTO retransmission at 1.5 (TCP_INFO retransmits
        // turns 1 there), UT 3 s: ETIMEDOUT at 1.5 + 3 = 4.5, whatever keepalive says.
        let wire = [obs(1.0, .in, .data), obs(1.1, .out, .data), obs(1.2, .out, .retransmit(1)), obs(1.5, .out, .retransmit(2)),
                    obs(1.9, .out, .retransmit(3)), obs(2.7, .out, .retransmit(4))]
        let info = [TCPInfoSample(t: 1.15, retransmits: 0, unacked: 1, rtoMs: 200), TCPInfoSample(t: 1.52, retransmits: 1, unacked: 1, rtoMs: 400)]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 4.51, how: .socketError(ETIMEDOUT)), stopAt: 4.51,
                                          interrupted: false, settings: settings(utMs: 3000), wire: wire, tcpInfo: info,
                                          firstRetransmitSampleAt: 1.52))
        #expect(v.outcome.mechanism == .userTimeout)
        #expect(abs((v.outcome.predictedAt ?? 0) - 4.5) < 1e-9)
        #expect(v.predictions.first { $0.0 == "first_rto_retransmission_at" }?.1 == .double(1.5))
        #expect(v.outcome.extra.first { $0.0 == "retransmissions" }?.1 == .int(4))
    }

    @Test func unackedDataWithoutUserTimeoutIsTheRetransmissionLimit() {
        let wire = [obs(1.0, .in, .data), obs(1.5, .out, .retransmit(1)), obs(1.9, .out, .retransmit(2))]
        let info = [TCPInfoSample(t: 1.2, retransmits: 0, unacked: 1, rtoMs: 200)]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 950, how: .socketError(ETIMEDOUT)), stopAt: 950,
                                          interrupted: false, settings: settings(keepalive: false), wire: wire, tcpInfo: info))
        #expect(v.outcome.mechanism == .retransmissionLimit)
        // tcp_retries2=15 with a 200 ms first RTO: at least (2^10 - 1) x 0.2 + 6 x 120 = 924.6 s after rs.
        let predicted = v.outcome.predictedAt ?? 0
        #expect(predicted - 1.9 >= 924.6 && predicted - 1.9 < 924.6 + 120)
        #expect(v.predictions.first { $0.0 == "keepalive_abort_at" }?.1 == .null)
    }

    @Test func peerResetAndPeerFinAreSeenAtOnce() {
        let rst = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 2.001, how: .socketError(ECONNRESET)), stopAt: 2.001,
                                            interrupted: false, settings: settings(), wire: [obs(2.0, .in, .rst)], tcpInfo: []))
        #expect(rst.outcome.status == .closed && rst.outcome.mechanism == .peerRst)
        #expect(rst.outcome.predictedAt == 2.0)
        let fin = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 1.5, how: .eof), stopAt: 1.5,
                                            interrupted: false, settings: settings(), wire: [obs(1.499, .in, .fin)], tcpInfo: []))
        #expect(fin.outcome.mechanism == .peerFin)
        #expect(fin.outcome.predictedAt == 1.499)
    }

    @Test func icmpErrorNamesTheMessageAndTheErrnoOnce() {
        let facts = ICMPErrorFacts(version: 4, type: 3, code: 1, codeDescription: "host unreachable", from: "10.0.0.9", errnoName: "EHOSTUNREACH")
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 3.2, how: .socketError(EHOSTUNREACH)), stopAt: 3.2,
                                          interrupted: false, settings: settings(),
                                          wire: [obs(1.0, .in, .data), obs(3.0, .in, .icmpError(facts))], tcpInfo: []))
        #expect(v.outcome.mechanism == .icmp)
        #expect(v.outcome.predictedAt == 3.0)
        #expect(v.outcome.summary == "ICMP 3/1 host unreachable from 10.0.0.9 -> EHOSTUNREACH")
    }

    @Test func damagedPacketsDoNotCountAsHearingFromThePeer() {
        // A truncated packet at 2.5 must not move the keepalive base (the last real segment, 1.0).
        let wire = [obs(1.0, .in, .data), obs(2.5, .in, .damaged), obs(3.0, .out, .keepaliveProbe(1))]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: nil, stopAt: 3.5, interrupted: false, settings: settings(),
                                          wire: wire, tcpInfo: []))
        #expect(v.outcome.status == .survived)
        #expect(v.outcome.predictedAt == 6.0)
        #expect(v.outcome.summary.contains("1 keepalive probe unanswered; the kernel aborts at about t=6s"))
    }

    @Test func aSilencedIdleConnectionSurvivesOnlyUntilKeepaliveWouldNotice() {
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: nil, stopAt: 2.0, interrupted: false, settings: settings(),
                                          wire: [obs(0.1, .in, .synAck)], tcpInfo: [], flowCut: true))
        #expect(v.outcome.status == .survived)
        #expect(abs((v.outcome.predictedAt ?? 0) - 5.1) < 1e-9)
        let healthy = diagnose(DeadPeerEvidence(established: 0.1, end: nil, stopAt: 2.0, interrupted: false, settings: settings(),
                                                wire: [obs(0.1, .in, .synAck)], tcpInfo: []))
        #expect(healthy.outcome.predictedAt == nil)
        #expect(healthy.outcome.summary.hasSuffix("the connection stayed healthy"))
    }

    @Test func h2PingTimeoutIsPredictedFromTheLastRead() {
        // A8: the PING goes out ping-time after the last read (2.0 + 1.0), its timeout 0.5 later.
        let h2 = H2KeepaliveFacts(pingTime: 1.0, pingTimeout: 0.5, lastReadAt: 2.0, pingsSent: 1)
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 3.51, how: .h2PingTimeout(sentAt: 3.0)), stopAt: 3.51,
                                          interrupted: false, settings: settings(keepalive: false), wire: [obs(2.0, .in, .data)],
                                          tcpInfo: [], h2: h2))
        #expect(v.outcome.mechanism == .h2PingTimeout)
        #expect(v.outcome.predictedAt == 3.5)
        // The same PING verdict as goaway-trace and analyze give, with the A8 prediction.
        #expect(v.outcome.summary.hasPrefix("dead peer detected by HTTP/2 PING keepalive: PING from the client at t=3 s never acknowledged"))
        #expect(v.predictions.first { $0.0 == "h2_ping_at" }?.1 == .double(3.0))
    }

    @Test func aBusyH2ConnectionIsFoundByUserTimeoutNotByPing() {
        let h2 = H2KeepaliveFacts(pingTime: 10, pingTimeout: 1, lastReadAt: 1.0, pingsSent: 0)
        let wire = [obs(1.0, .in, .data), obs(1.4, .out, .retransmit(1)), obs(1.6, .out, .retransmit(2))]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: WatchEnd(at: 3.6, how: .socketError(ETIMEDOUT)), stopAt: 3.6,
                                          interrupted: false, settings: settings(keepalive: false, utMs: 2000), wire: wire,
                                          tcpInfo: [TCPInfoSample(t: 1.3, retransmits: 0, unacked: 9, rtoMs: 200)],
                                          firstRetransmitSampleAt: 1.61, h2: h2))
        #expect(v.outcome.mechanism == .userTimeout)
        #expect(v.outcome.extra.first { $0.0 == "pings_sent" }?.1 == .int(0))
        #expect(v.outcome.explanation?.contains("TCP_USER_TIMEOUT found the dead peer first") == true)
    }

    @Test func anInterruptedWatchPredictsTheEarliestMechanism() {
        let wire = [obs(1.0, .in, .data), obs(3.0, .out, .keepaliveProbe(1))]
        let v = diagnose(DeadPeerEvidence(established: 0.1, end: nil, stopAt: 3.2, interrupted: true, settings: settings(),
                                          wire: wire, tcpInfo: []))
        #expect(v.outcome.status == .error)
        #expect(v.outcome.predictedAt == 6.0)
    }
}
