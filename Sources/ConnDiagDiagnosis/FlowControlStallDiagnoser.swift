import ConnDiagCore

/// Flow-control stalls: a receiver that stops reading lets the sender's window run out;
/// PINGs still answered show the peer is alive. Both directions stalled at once is the
/// bidirectional-stream deadlock.
public enum FlowControlStallDiagnoser {
    /// `threshold`: how long a window must stay used up to count (the outcome is detected
    /// that long after the stall began).
    public static func diagnose(_ e: HTTP2Evidence, threshold: Double) -> Diagnosis? {
        guard let st = e.stalls.max(by: { $0.duration < $1.duration }) else { return nil }
        let sender = st.sender.rawValue, reader = st.sender.peer.rawValue
        let scope = st.scope == 0 ? "connection" : "stream \(st.scope)"
        let since = st.receiverLastUpdate.map { " (its last WINDOW_UPDATE at \(timeText($0)))" } ?? " (no WINDOW_UPDATE from it in the capture)"
        var summary = "flow-control stall: the \(reader) stopped reading\(since); the \(sender)'s \(scope) send window has been "
            + (st.windowKnown ? "0" : "used up") + " since \(timeText(st.since)) with \(st.bytesWaiting) bytes waiting unread, "
            + (st.ongoing ? "still at the end of the capture" : "for \(DurationText.elapsed(st.duration))")
        summary += st.pingsAnswered > 0 ? "; \(st.pingsAnswered) PINGs answered meanwhile, so the peer is alive" : ""
        if e.stalls.count > 1 && Set(e.stalls.map(\.sender)).count == 2 {
            summary += "; both directions are stalled (bidirectional-stream deadlock: each side waits for the other to read)"
        }
        if !st.windowKnown { summary += " (window sizes inferred: the capture began mid-connection)" }
        let findings = e.stalls.map { x in
            let sc = x.scope == 0 ? "connection" : "stream \(x.scope)"
            return DiagnosisFinding(severity: .critical, kind: "flow-control-stall", t: x.since,
                                summary: "the \(x.sender.peer.rawValue) stopped reading: the \(x.sender.rawValue)'s \(sc) window is exhausted from \(timeText(x.since)) to \(timeText(x.until)) with \(x.bytesWaiting) bytes waiting unread; \(x.pingsAnswered) PINGs answered meanwhile")
        }
        var extra: [(String, JSONValue)] = [("diagnosis", .string("flow-control-stall")), ("stalled_sender", .string(sender)),
                                            ("stopped_reading", .string(reader)), ("stalled_since", .double(round6(st.since))),
                                            ("stall_s", .double(round6(st.duration))), ("bytes_waiting", .int(Int64(st.bytesWaiting))),
                                            ("window_known", .bool(st.windowKnown)), ("pings_answered_during_stall", .int(Int64(st.pingsAnswered)))]
        if st.scope != 0 { extra.append(("stream_id", .int(Int64(st.scope)))) }
        return Diagnosis(outcome: Outcome(status: .detected, mechanism: .flowControlStall, detectedAt: st.since + threshold,
                                               summary: summary, extra: extra),
                              findings: findings)
    }
}
