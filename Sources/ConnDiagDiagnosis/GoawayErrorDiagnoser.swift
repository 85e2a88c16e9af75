import ConnDiagCore

/// A GOAWAY with an error code, from either side: the sender ends the connection because of
/// something its peer did or broke (a server's ENHANCE_YOUR_CALM "too_many_pings": gRPC
/// keepalive policy, A8; a client's INTERNAL_ERROR or PROTOCOL_ERROR). It decides over any
/// graceful GOAWAY before or after it: the connection did not end well.
public enum GoawayErrorDiagnoser {
    static let tooManyPingsAdvice = "the client pings more often than the server permits. Fix on the client: raise keepalive time (ping-time) to at least the server's minimum (grpc default GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS = 5 min) and do not set permit-without-stream unless the server allows it; or on the server: lower grpc.http2.min_ping_interval_without_data_ms / raise grpc.http2.max_ping_strikes and set grpc.keepalive_permit_without_calls=1. grpc-go clients double their keepalive time after this GOAWAY."

    /// The GOAWAY that ended the connection with an error, if one did: "too_many_pings" first,
    /// else the first with an error code from either side.
    public static func goaway(in e: HTTP2Evidence) -> GoawayEvidence? {
        e.goaways.first { $0.isTooManyPings } ?? e.goaways.first { $0.code != .noError }
    }

    public static func diagnose(_ e: HTTP2Evidence) -> Diagnosis? {
        guard let g = goaway(in: e) else { return nil }
        let summary = text(g, e)
        // Every other GOAWAY with an error is a finding of its own, with its side and code.
        let others = e.goaways.filter { $0.code != .noError && !($0.t == g.t && $0.from == g.from) }
        return Diagnosis(
            outcome: Outcome(status: .closed, mechanism: .goaway, detectedAt: g.t, summary: summary,
                             explanation: g.isTooManyPings ? tooManyPingsAdvice : nil),
            findings: [finding(g, summary)] + others.map { finding($0, text($0, e)) })
    }

    private static func finding(_ g: GoawayEvidence, _ summary: String) -> DiagnosisFinding {
        DiagnosisFinding(severity: .warning, kind: g.isTooManyPings ? "too-many-pings" : "goaway-error", t: g.t, summary: summary)
    }

    private static func text(_ g: GoawayEvidence, _ e: HTTP2Evidence) -> String {
        var summary = "GOAWAY \(g.code.name)" + (g.debug.isEmpty ? "" : " \"\(g.summarisedDebug)\"") + " from the \(g.from.rawValue) at \(timeText(g.t))"
        if g.from == .server { summary += " after \(plural(e.clientPingsSent, "client PING"))" }
        if g.isTooManyPings {
            summary += ": the client pings more often than the server permits (a strike for each PING sooner than the server allows; the third strike ends the connection)"
        } else if g.from == .client {
            summary += ": the client ended the connection with an error (last stream it processed: \(g.lastStreamID))"
        }
        return summary
    }
}
