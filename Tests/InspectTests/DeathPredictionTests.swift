import Testing
@testable import ConnDiagInspect
import ConnDiagCore

/// Predictions on sampled sockets built in the test: each must be the kernel model's
/// (`SYNSchedule`, `KeepaliveSchedule`, `RetransmissionSchedule`) anchored on the armed timer.
@Suite struct DeathPredictionTests {
    let kernel: KernelSettings = {
        var k = KernelSettings(tcpSynRetries: 6, tcpSynLinearTimeouts: 4, tcpRetries2: 15)
        k.hz = 250
        return k
    }()

    func socket(_ state: TCPState, timer: SockDiagTimer, expiresMs: UInt32, info: TCPInfoFields) -> SockDiagSocket {
        SockDiagSocket(family: 2, state: state, timer: timer, timerRetransmits: 0, expiresMs: expiresMs,
                       localAddress: [10, 0, 0, 1], localPort: 40000, remoteAddress: [10, 0, 0, 2], remotePort: 5432, info: info)
    }

    @Test func synSentFromTheRetransmissionsDone() {
        // TCP_SYNCNT 2 with 4 linear timeouts: six SYNs 1 s apart, ETIMEDOUT at ~7 s.
        let schedule = SYNSchedule(syncnt: 2, linearTimeouts: 4, hz: 250)
        let s = socket(.synSent, timer: .retransmit, expiresMs: 400, info: TCPInfoFields(retransmits: 2))
        let p = DeathPrediction.predict(s, options: ApplicationOptions(keepalive: false, keepIdle: 7200, keepInterval: 75, keepCount: 9, synCount: 2), kernel: kernel)
        #expect(p.mechanism == .synRetriesExhausted)
        let late = DeathPrediction.lateness(real: schedule.synTimes, nominal: schedule.nominalSynTimes, step: 3)
        #expect(late > 0.02 && late < 0.03)  // a 1 s RTO fires after 1.024 s at HZ 250
        #expect(abs(p.seconds! - (schedule.giveUpAt - (schedule.synTimes[3] - 0.4 - late))) < 1e-9)
    }

    @Test func retransmittingGivesUpAtTheRetries2Budget() {
        // Three RTO backoffs from a 200 ms base: RTO now 1.6 s; the 4th RTO retransmission fires in 1 s.
        let info = TCPInfoFields(backoff: 3, rtoMicros: 1_600_000, unacked: 1)
        let s = socket(.established, timer: .retransmit, expiresMs: 1000, info: info)
        let p = DeathPrediction.predict(s, options: ApplicationOptions(keepalive: true, keepIdle: 30, keepInterval: 10, keepCount: 3), kernel: kernel)
        let schedule = RetransmissionSchedule(firstRTO: 0.2, retries2: 15, hz: 250)
        #expect(p.mechanism == .retransmissionLimit)
        // The armed 4th RTO timer fires late by the wheel's lateness for that step.
        let nominal = RetransmissionSchedule(firstRTO: 0.2, retries2: 15)
        let late = DeathPrediction.lateness(real: schedule.retransmissions, nominal: nominal.retransmissions, step: 3)
        #expect(late > 0 && late < 0.065)
        #expect(abs(p.seconds! - (1.0 + late - schedule.retransmissions[3] + schedule.giveUpAt)) < 1e-9)
        #expect(p.explanation.contains("3 of"))
    }

    @Test func userTimeoutReplacesRetries2WithUnackedData() {
        let info = TCPInfoFields(backoff: 1, rtoMicros: 400_000, unacked: 1)
        let s = socket(.established, timer: .retransmit, expiresMs: 300, info: info)
        let p = DeathPrediction.predict(s, options: ApplicationOptions(keepalive: false, keepIdle: 7200, keepInterval: 75, keepCount: 9, userTimeoutMs: 3000), kernel: kernel)
        let schedule = RetransmissionSchedule(firstRTO: 0.2, retries2: 15, userTimeout: 3, hz: 250)
        #expect(p.mechanism == .userTimeout)
        let nominal = RetransmissionSchedule(firstRTO: 0.2, retries2: 15, userTimeout: 3)
        let late = DeathPrediction.lateness(real: schedule.retransmissions, nominal: nominal.retransmissions, step: 1)
        #expect(abs(p.seconds! - (0.3 + late - schedule.retransmissions[1] + schedule.giveUpAt)) < 1e-9)
    }

    @Test func keepaliveProbingAndTheUserTimeoutCap() {
        // KEEPIDLE 30 s, KEEPINTVL 10 s, KEEPCNT 3, one probe out, the next in 4 s.
        let ka = ApplicationOptions(keepalive: true, keepIdle: 30, keepInterval: 10, keepCount: 3)
        let s = socket(.established, timer: .keepalive, expiresMs: 4000, info: TCPInfoFields(probes: 1))
        let p = DeathPrediction.predict(s, options: ka, kernel: kernel)
        let schedule = KeepaliveSchedule(idle: 30, interval: 10, count: 3, hz: 250)
        #expect(p.mechanism == .keepalive)
        let nominal = KeepaliveSchedule(idle: 30, interval: 10, count: 3)
        let late = DeathPrediction.lateness(real: schedule.probes, nominal: nominal.probes, step: 1)
        #expect(late > 0 && late < 0.26)  // a 10 s timer sits on the wheel's 256 ms level at HZ 250
        #expect(abs(p.seconds! - (4 + late + schedule.abortAt - schedule.probes[1])) < 1e-9)
        // TCP_USER_TIMEOUT 20 s caps KEEPCNT: abort at the first firing past 20 s idle.
        var ut = ka
        ut.userTimeoutMs = 20_000
        let q = DeathPrediction.predict(s, options: ut, kernel: kernel)
        let capped = KeepaliveSchedule(idle: 30, interval: 10, count: 3, userTimeout: 20, hz: 250)
        #expect(q.mechanism == .userTimeout)
        // UT 20 s < KEEPIDLE 30 s: one probe at 30 s, abort at the next firing; with it out, the
        // armed timer is the abort itself.
        #expect(capped.probes.count == 1)
        let cappedLate = DeathPrediction.lateness(real: capped.probes + [capped.abortAt], nominal: [30, 40], step: 1)
        #expect(abs(q.seconds! - (4 + cappedLate)) < 1e-9)
    }

    @Test func keepaliveOffIsNeverWhileIdle() {
        let s = socket(.established, timer: .none, expiresMs: 0, info: TCPInfoFields(rtoMicros: 204_000, lastDataReceivedMs: 2_460_000, lastAckReceivedMs: 2_460_000))
        let off = ApplicationOptions(keepalive: false, keepIdle: 7200, keepInterval: 75, keepCount: 9)
        let p = DeathPrediction.predict(s, options: off, kernel: kernel)
        guard case .neverWhileIdle(let w) = p.kind else { Issue.record("\(p)"); return }
        #expect(abs(w - (0.204 + RetransmissionSchedule(firstRTO: 0.204, retries2: 15, hz: 250).giveUpAt)) < 1e-9)
        // Idle for 41 min with keepalive off: a warning finding.
        let c = InspectedConnection(index: 1, socket: s, owner: nil, options: .read(off), prediction: p, sampledAt: 0)
        let f = InspectFinding.findings(for: c, idleTimeout: nil, conntrack: nil)
        #expect(f.map(\.code) == ["keepalive-off-idle"])
        #expect(f.first?.message.contains("41min") == true)
    }

    @Test func findingsOnRiskySettings() {
        let s = socket(.established, timer: .keepalive, expiresMs: 1000, info: TCPInfoFields())
        let ka = ApplicationOptions(keepalive: true, keepIdle: 7200, keepInterval: 75, keepCount: 9)
        let c = InspectedConnection(index: 2, socket: s, owner: nil, options: .read(ka),
                                    prediction: DeathPrediction.predict(s, options: ka, kernel: kernel), sampledAt: 0)
        let codes = InspectFinding.findings(for: c, idleTimeout: 350, conntrack: 432_000).map(\.code)
        #expect(codes == ["keepidle-over-idle-timeout"])
        #expect(InspectFinding.findings(for: c, idleTimeout: nil, conntrack: 3600).map(\.code) == ["keepidle-over-conntrack"])
        let retrans = socket(.established, timer: .retransmit, expiresMs: 1000, info: TCPInfoFields(backoff: 2, unacked: 3))
        let r = InspectedConnection(index: 3, socket: retrans, owner: nil, options: .read(ka),
                                    prediction: DeathPrediction.predict(retrans, options: ka, kernel: kernel), sampledAt: 0)
        #expect(InspectFinding.findings(for: r, idleTimeout: nil, conntrack: nil).map(\.code) == ["retransmitting-without-user-timeout"])
        let zw = socket(.established, timer: .zeroWindowProbe, expiresMs: 1000, info: TCPInfoFields())
        let z = InspectedConnection(index: 4, socket: zw, owner: nil, options: .unknown("unknown (no ptrace rights)"),
                                    prediction: DeathPrediction.predict(zw, options: nil, kernel: kernel), sampledAt: 0)
        #expect(InspectFinding.findings(for: z, idleTimeout: nil, conntrack: nil).map(\.code) == ["zero-window", "options-unknown"])
    }

    @Test func filtersAndParsing() {
        #expect(InspectConfig.parseRemote("10.1.7.7:50051")! == ([10, 1, 7, 7], 50051))
        #expect(InspectConfig.parseRemote("[::1]:80")?.address.count == 16)
        #expect(InspectConfig.parseRemote("db:5432") == nil)
        #expect(InspectConfig.parseStates("established,syn-sent") == [.established, .synSent])
        #expect(InspectConfig.parseStates("bogus") == nil)
        var c = InspectConfig(scope: .process(1))
        c.remoteAddress = [127, 0, 0, 1]
        let mapped = SockDiagSocket(family: 10, state: .established, timer: .none, timerRetransmits: 0, expiresMs: 0,
                                    localAddress: [UInt8](repeating: 0, count: 16), localPort: 1,
                                    remoteAddress: [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 127, 0, 0, 1], remotePort: 2)
        #expect(c.matches(mapped))
    }
}
