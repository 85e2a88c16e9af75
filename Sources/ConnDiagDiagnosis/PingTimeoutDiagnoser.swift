import ConnDiagCore

/// HTTP/2 keepalive timeout (gRPC A8): a PING that got no ACK, then its sender closed the
/// connection.
public enum PingTimeoutDiagnoser {
    public static func diagnose(_ e: HTTP2Evidence) -> Diagnosis? {
        guard let p = e.unansweredPings.first, let close = e.close, close.by == p.from, close.at > p.sentAt else { return nil }
        let who = p.from.rawValue
        var summary = "PING from the \(who) at \(timeText(p.sentAt)) never acknowledged; the \(who) closed the connection at \(timeText(close.at))"
            + " after \(DurationText.elapsed(close.at - p.sentAt)) (h2-ping-timeout)"
        if let timeout = e.pingTimeout { summary += "; its ping timeout is \(DurationText.format(timeout))" }
        return Diagnosis(
            outcome: Outcome(status: .detected, mechanism: .h2PingTimeout, detectedAt: close.at,
                             predictedAt: e.pingTimeout.map { p.sentAt + $0 }, summary: summary),
            findings: [DiagnosisFinding(severity: .critical, kind: "h2-ping-timeout", t: close.at, summary: summary)])
    }
}
