import ConnDiagCore
import ConnDiagDiagnosis
import Glibc
import Testing

/// connect() failures on evidence built here: the schedule is the kernel's (6.7+ linear
/// retries, then doubling), the ICMP-to-errno map is tcp_v4_err's.
@Suite struct ConnectFailureDiagnoserTests {
    let schedule = SYNSchedule(syncnt: 2, linearTimeouts: 4)

    func explain(_ e: Int32, at t: Double, syns: [Double], icmp: FlowObservation? = nil, rst: FlowObservation? = nil, capture: Bool = true) -> Outcome {
        ConnectFailureDiagnoser.explain(errno: e, at: t, started: 0, firstSYN: syns.first ?? 0, schedule: schedule,
                                        synTimes: capture ? syns : nil, icmp: icmp, rst: rst)
    }

    @Test func silentAddressRunsOutOfSYNRetriesAtSevenSeconds() {
        // syncnt 2 with tcp_syn_linear_timeouts 4: six SYNs 1 s apart, give-up 7 s after the first.
        let o = explain(ETIMEDOUT, at: 7.01, syns: [0, 1, 2, 3, 4, 5])
        #expect(o.status == .timeout && o.mechanism == .synRetriesExhausted)
        #expect(abs((o.predictedAt ?? 0) - 7.0) < 1e-9)
        #expect(o.explanation?.contains("saw") == false)
        let fewer = explain(ETIMEDOUT, at: 7.01, syns: [0, 1, 2])
        #expect(fewer.explanation?.contains("saw 3 SYNs where the model predicts 6") == true)
    }

    @Test func refusedByRSTIsPredictedAtTheRST() {
        let o = explain(ECONNREFUSED, at: 0.0004, syns: [0.0001], rst: FlowObservation(t: 0.0002, direction: .in, kind: .rst))
        #expect(o.status == .refused && o.mechanism == .rst)
        #expect(o.predictedAt == 0.0002)
        let blind = explain(ECONNREFUSED, at: 0.0004, syns: [], capture: false)
        #expect(blind.predictedAt == nil)
        #expect(blind.explanation?.hasPrefix("no capture") == true)
    }

    @Test func icmpUnreachableIsNamedWithTypeAndCode() {
        let facts = ICMPErrorFacts(version: 4, type: 3, code: 1, codeDescription: "host unreachable", from: "10.213.0.2", errnoName: "EHOSTUNREACH")
        let o = explain(EHOSTUNREACH, at: 0.0009, syns: [0.0001], icmp: FlowObservation(t: 0.0003, direction: .in, kind: .icmpError(facts)))
        #expect(o.status == .unreachable && o.mechanism == .icmp)
        #expect(o.summary.hasPrefix("ICMP 3/1 host unreachable -> EHOSTUNREACH after"))
        #expect(o.extra.first { $0.0 == "icmp_type" }?.1 == .int(3))
        #expect(o.extra.first { $0.0 == "icmp_code" }?.1 == .int(1))
        // ICMP port unreachable is ECONNREFUSED: refused, by ICMP.
        let port = ICMPErrorFacts(version: 4, type: 3, code: 3, codeDescription: "port unreachable", from: "10.213.0.2", errnoName: "ECONNREFUSED")
        let p = explain(ECONNREFUSED, at: 0.001, syns: [0], icmp: FlowObservation(t: 0.0005, direction: .in, kind: .icmpError(port)))
        #expect(p.status == .refused && p.mechanism == .icmp)
    }

    @Test func aSoftICMPErrorReportedAtTheTimeoutSaysSo() {
        // The ICMP arrived while connect() held the socket: the kernel keeps it as a soft
        // error and reports it only at its next timer firing.
        let facts = ICMPErrorFacts(version: 4, type: 3, code: 1, codeDescription: "host unreachable", from: "10.213.0.2", errnoName: "EHOSTUNREACH")
        let o = explain(EHOSTUNREACH, at: 1.02, syns: [0, 1.0], icmp: FlowObservation(t: 0.0003, direction: .in, kind: .icmpError(facts)))
        #expect(o.explanation?.contains("soft error") == true)
    }

    @Test func noRouteWithoutICMPIsLocal() {
        let o = explain(ENETUNREACH, at: 0.0001, syns: [])
        #expect(o.status == .unreachable && o.mechanism == Mechanism.none)
        #expect(o.summary.contains("with no ICMP on the wire"))
        // Without a capture nothing says the wire was silent: the errno is all there is.
        let blind = explain(EHOSTUNREACH, at: 0.0001, syns: [], capture: false)
        #expect(blind.mechanism == .icmp && !blind.summary.contains("no ICMP on the wire"))
    }

    @Test func withoutACaptureTheSummaryDoesNotCountSYNs() {
        let o = explain(ETIMEDOUT, at: 7.2, syns: [], capture: false)
        #expect(o.summary.hasPrefix("no answer to the SYNs (no capture); the kernel gave up after"))
        #expect(abs((o.predictedAt ?? 0) - 7.0) < 1e-9)
    }
}
