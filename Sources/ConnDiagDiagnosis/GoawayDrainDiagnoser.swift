import ConnDiagCore

/// Drains by GOAWAY from the server: graceful (every stream finished before the close), or
/// the grace period expiring with streams open, or still draining when the observation ended.
public enum GoawayDrainDiagnoser {
    public static func diagnose(_ e: HTTP2Evidence) -> GoawayDrain? {
        guard let g1 = e.goaways.first(where: { $0.from == .server }) else { return nil }
        let second = g1.announcesDrain ? e.goaways.first { $0.from == .server && $0.t > g1.t } : nil
        let cutShort = e.streams.filter { $0.cutShort(byDrainAfter: g1.t) }
        let age = e.connectionStartedAt.map { g1.t - $0 }
        let grace = e.close.map { $0.at - (second ?? g1).t }
        let refused = e.streams.filter { if case .refusedByGoaway = $0.end { return true }; return false }.count
        let debug = e.goaways.filter { $0.from == .server }.map(\.debug).first { !$0.isEmpty } ?? ""
        let expiry: GoawayDrain.GraceExpiry? = cutShort.isEmpty ? nil
            : cutShort.contains { $0.endedWithTrailers } ? .trailersAndReset : .connectionClosedUnderStreams
        let drain = (second != nil ? "double GOAWAY (A9 graceful drain)" : "GOAWAY \(g1.code.name)") + (g1.debug.isEmpty ? "" : " \"\(g1.summarisedDebug)\"")
            + " from the server at \(timeText(g1.t))" + (age.map { " after a connection age of \(DurationText.elapsed($0))" } ?? "")
        let refusedNote = refused == 0 ? nil
            : "\(plural(refused, "stream")) opened after the GOAWAY \(refused == 1 ? "was" : "were") refused on this connection (not processed: safe to retry elsewhere)"

        let diagnosis: Diagnosis
        if let close = e.close {
            if let expiry {
                let summary = "\(drain); the grace period (\(grace.map { DurationText.elapsed($0) } ?? "?")) expired with \(plural(cutShort.count, "stream")) open; \(close.text) at \(timeText(close.at))"
                let explanation = [expiry.rawValue, "streams cut short by the close: " + cutShort.prefix(5).map { "\($0.id) (\($0.endName == "completed" ? "ended by the server with grpc-status UNAVAILABLE" : $0.endName))" }.joined(separator: ", "), refusedNote]
                    .compactMap { $0 }.joined(separator: "; ")
                diagnosis = Diagnosis(
                    outcome: Outcome(status: .closed, mechanism: .goawayGraceExpired, detectedAt: close.at, summary: summary, explanation: explanation),
                    findings: [DiagnosisFinding(severity: .warning, kind: "goaway-grace-expired", t: close.at, summary: summary)])
            } else {
                let summary = "\(drain); every stream finished before the close (graceful); \(close.text) at \(timeText(close.at))"
                diagnosis = Diagnosis(
                    outcome: Outcome(status: .closed, mechanism: .goaway, detectedAt: close.at, summary: summary, explanation: refusedNote),
                    findings: [DiagnosisFinding(severity: .info, kind: "goaway", t: g1.t, summary: summary)])
            }
        } else {
            let open = e.streams.filter { $0.end == .open }
            let openText = open.isEmpty ? "no stream open"
                : "stream\(open.count == 1 ? "" : "s") \(open.map { String($0.id) }.joined(separator: ", ")) still open on a draining connection"
            let summary = "\(drain); \(openText) when the \(e.observation) ended at \(timeText(e.observedUntil))"
            let explanation = open.isEmpty ? refusedNote
                : ["without a grace period the server waits for the streams to finish; a stream that never ends keeps the old connection alive", refusedNote]
                    .compactMap { $0 }.joined(separator: "; ")
            diagnosis = Diagnosis(
                outcome: Outcome(status: .survived, mechanism: .goaway, detectedAt: g1.t, summary: summary, explanation: explanation),
                findings: [DiagnosisFinding(severity: .notice, kind: "goaway", t: g1.t, summary: summary)])
        }
        return GoawayDrain(first: g1, second: second, connectionAge: age, grace: grace, cutShort: cutShort, graceExpiry: expiry,
                           refused: refused, debug: debug, diagnosis: diagnosis)
    }
}
