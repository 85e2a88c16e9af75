import Glibc
import ConnDiagCore

/// Why connect() failed — the SYN retries ran out, an ICMP error, a RST, no route — set
/// beside the kernel's SYN schedule. Pure: the same evidence gives the same verdict.
public enum ConnectFailureDiagnoser {
    /// - synTimes: when each SYN went out (first is the original); nil without a capture.
    /// - icmp, rst: the last ICMP unreachable and inbound RST of the attempt, if captured.
    public static func explain(errno e: Int32, at t: Double, started: Double, firstSYN: Double, schedule: SYNSchedule,
                               synTimes captured: [Double]?, icmp: FlowObservation?, rst: FlowObservation?) -> Outcome {
        let name = ErrnoName.name(e)
        let elapsed = DurationText.elapsed(t - started)
        let haveCapture = captured != nil
        let synTimes = captured ?? []
        if e == ETIMEDOUT && icmp == nil {
            // From the last SYN seen, as the kernel armed its final timer (falls back to the
            // schedule from the first SYN when the capture is off).
            var predicted = firstSYN + schedule.giveUpAt
            if let last = synTimes.last, synTimes.count <= schedule.synTimes.count, !synTimes.isEmpty {
                predicted = last + (schedule.giveUpAt - schedule.synTimes[synTimes.count - 1])
            }
            let late = t - predicted
            var why = "predicted \(DurationText.trimmed(predicted - firstSYN))s after the first SYN (\(DurationText.signedMilliseconds(late)) off; the schedule alone says \(DurationText.trimmed(schedule.giveUpAt))s): \(schedule.formula)"
            if let note = schedule.wheelNote { why += "\n" + note }
            else if schedule.hz == nil { why += "\nHZ unknown (neither the coarse clock nor /proc/timer_list gave it): each timer may fire up to ~3 % late" }
            if haveCapture && synTimes.count != schedule.synTimes.count {
                why += "\nsaw \(synTimes.count) SYNs where the model predicts \(schedule.synTimes.count)"
            }
            return Outcome(status: .timeout, mechanism: .synRetriesExhausted, detectedAt: t, predictedAt: predicted, errno: name,
                           summary: "no answer to " + (captured.map { plural($0.count, "SYN") } ?? "the SYNs (no capture)") + "; the kernel gave up after \(elapsed) -> ETIMEDOUT",
                           explanation: why)
        }
        if let icmp, let facts = icmp.icmp {
            let extra: [(String, JSONValue)] = [("icmp_type", .int(Int64(facts.type))), ("icmp_code", .int(Int64(facts.code)))]
            let status: OutcomeStatus = e == ECONNREFUSED ? .refused : .unreachable
            let delay = DurationText.trimmed((icmp.t - (synTimes.last ?? started)) * 1000)
            var why = "the ICMP error arrived \(delay) ms after the last SYN; the kernel maps it to \(name)"
            if e == ETIMEDOUT || abs(t - icmp.t) > 0.5 {
                why = "the ICMP error arrived as a soft error while connect() held the socket; the kernel reported it at its next timer firing"
            }
            return Outcome(status: status, mechanism: .icmp, detectedAt: t, predictedAt: icmp.t, errno: name,
                           summary: "\(facts.name) -> \(name) after \(elapsed)",
                           explanation: why, extra: extra)
        }
        if e == ECONNREFUSED {
            let at = rst?.t ?? t
            let why = rst != nil ? "a closed port answers the SYN with RST at once; nothing to wait for"
                : "no capture: ECONNREFUSED on TCP means the peer answered RST (or an ICMP port unreachable)"
            return Outcome(status: .refused, mechanism: .rst, detectedAt: t, predictedAt: rst != nil ? at : nil, errno: name,
                           summary: "connection refused (RST) after \(elapsed)", explanation: why)
        }
        if (e == EHOSTUNREACH || e == ENETUNREACH) && !haveCapture {
            return Outcome(status: .unreachable, mechanism: .icmp, detectedAt: t, errno: name,
                           summary: "\(ErrnoName.message(e)) (\(name)) after \(elapsed)",
                           explanation: "no capture: an ICMP error from a router gives this errno, and so does the local kernel when it has no route or the neighbour (ARP/ND) never answers")
        }
        if e == EHOSTUNREACH || e == ENETUNREACH {
            return Outcome(status: .unreachable, mechanism: .none, detectedAt: t, errno: name,
                           summary: "\(ErrnoName.message(e)) (\(name)) after \(elapsed) with no ICMP on the wire",
                           explanation: "the local kernel found no route, or the neighbour (ARP/ND) never answered")
        }
        return Outcome(status: .error, mechanism: .none, detectedAt: t, errno: name,
                       summary: "connect() failed: \(ErrnoName.message(e)) (\(name)) after \(elapsed)")
    }
}
