import ConnDiagCore

/// The TCP verdicts of a connection known only from the wire (a capture file): a handshake
/// that never completed, a side probing or retransmitting into silence, and how it closed.
/// The socket options are not known here, so they are inferred from the spacing of the SYNs,
/// probes and retransmissions and matched against the same kernel model the live diagnosers
/// predict with (`SYNSchedule`, `KeepaliveSchedule`, `RetransmissionSchedule`). Pure: the
/// tracker's side records in, a diagnosis out.
public struct CapturedTCPDiagnoser {
    public let tracker: TCPConnectionTracker
    /// The time of the last packet of the whole input.
    public let captureEnd: Double
    /// The tcp_retries2 assumed for the host that retransmitted (a capture cannot tell).
    public let retries2: Int

    public init(tracker: TCPConnectionTracker, captureEnd: Double, retries2: Int) {
        self.tracker = tracker; self.captureEnd = captureEnd; self.retries2 = retries2
    }

    var sides: Pair<TCPSide> { tracker.sides }
    func name(_ side: Int) -> String { TCPConnectionTracker.name(side) }

    /// A failed handshake, or a side talking into silence: these decide before anything the
    /// application protocol shows. nil when neither happened.
    public func handshakeOrSilence() -> Diagnosis? {
        let c = sides[0], sv = sides[1]
        // A client that goes on acknowledging after its SYN got a SYN-ACK the capture missed.
        if !tracker.midConnection && c.synCount > 0 && sv.synAckAt == nil && c.ackSegments == 0 { return handshake() }
        for side in [0, 1] where sides[side].probesUnanswered > 0 && sides[side].episodeTimes.isEmpty && probesJudged(side: side) {
            return keepalive(side: side)
        }
        for side in [0, 1] where !sides[side].episodeTimes.isEmpty
            && (sides[side].unacked(peerAck: sides[1 - side].ackSent) > 0 || sides[1 - side].packets == 0)
            && (sides[1 - side].lastAt ?? 0) <= (sides[side].episodeTimes.first ?? 0) + 0.001 {
            return retransmissions(side: side)
        }
        return nil
    }

    /// Whether `side`'s unanswered probes say the peer is silent: the peer sent nothing
    /// (no FIN, no RST, nothing) since the first of them, and either the prober itself sent
    /// another (it waited a whole interval) or the capture covers a second after the probe.
    func probesJudged(side: Int) -> Bool {
        let me = sides[side], peer = sides[1 - side]
        guard let first = me.probeTimes.first else { return false }
        if let heard = peer.lastAt, heard > first { return false }
        return me.probesUnanswered >= 2 || captureEnd - (me.probeTimes.last ?? first) >= Self.answerWait
    }

    /// How long after a SYN or a probe the capture must go on before silence means something:
    /// RFC 6298's initial RTO (1 s, Linux's first SYN retransmission).
    public static let answerWait = 1.0

    /// How the connection ended on the wire (RST, FIN), or that it was still open.
    public func close() -> Diagnosis {
        let rstSide = [0, 1].filter { sides[$0].rstAt != nil }.min { sides[$0].rstAt! < sides[$1].rstAt! }
        let finSide = [0, 1].filter { sides[$0].finAt != nil }.min { sides[$0].finAt! < sides[$1].finAt! }
        if let r = rstSide {
            // An RST ends the connection whatever FINs came before it.
            let t = sides[r].rstAt!
            let c = sides[0]
            if r == 1 && c.bareSegments > 0 && c.ackSegments == 0 && c.synCount == 0 {
                let summary = "the server answered the client's \(plural(c.bareSegments, "probe")) without ACK (FIN/XMAS/NULL scan) with RST at \(timeText(t)): port \(tracker.server.port) is closed"
                return Diagnosis(outcome: Outcome(status: .refused, mechanism: .rst, detectedAt: t, summary: summary),
                                 findings: [DiagnosisFinding(severity: .notice, kind: "scan-probe", t: t, summary: summary)])
            }
            let after = finSide.flatMap { f in sides[f].finAt! < t ? " after the \(name(f))'s FIN at \(timeText(sides[f].finAt!))" : nil } ?? ""
            if r == 1 {
                return Diagnosis(outcome: Outcome(status: .closed, mechanism: .peerRst, detectedAt: t, errno: "ECONNRESET",
                                                  summary: "the server reset the connection (RST) at \(timeText(t))" + after),
                                 findings: [DiagnosisFinding(severity: .warning, kind: "peer-rst", t: t, summary: "the server reset the connection at \(timeText(t))" + after)])
            }
            if tracker.handshakeACKAt == nil && c.ackSegments == 0 && c.payloadBytes == 0 && sides[1].synAckAt != nil {
                let summary = "the client answered the SYN-ACK with RST at \(timeText(t)): a half-open (SYN scan) probe, or its kernel had no socket waiting for that SYN-ACK"
                return Diagnosis(outcome: Outcome(status: .closed, mechanism: .rst, detectedAt: t, summary: summary),
                                 findings: [DiagnosisFinding(severity: .notice, kind: "half-open", t: t, summary: summary)])
            }
            return Diagnosis(outcome: Outcome(status: .closed, mechanism: .rst, detectedAt: t, summary: "the client reset the connection (RST) at \(timeText(t))" + after),
                             findings: [DiagnosisFinding(severity: .notice, kind: "client-rst", t: t, summary: "the client reset the connection at \(timeText(t))" + after)])
        }
        if let f = finSide {
            let t = sides[f].finAt!
            let other = sides[1 - f].finAt.map { "; the \(name(1 - f)) answered with its FIN at \(timeText($0))" } ?? "; no FIN from the \(name(1 - f)) in the capture"
            if f == 1 {
                return Diagnosis(outcome: Outcome(status: .closed, mechanism: .peerFin, detectedAt: t, summary: "the server closed the connection (FIN) at \(timeText(t))" + other), findings: [])
            }
            return Diagnosis(outcome: Outcome(status: .closed, mechanism: .none, detectedAt: t, summary: "the client closed the connection (FIN) at \(timeText(t))" + other), findings: [])
        }
        return Diagnosis(outcome: Outcome(status: .connected, mechanism: .none,
                                          summary: "open at the end of the capture (last packet at \(timeText(tracker.lastAt)))" + (tracker.midConnection ? "; the capture began mid-connection" : "")),
                         findings: [])
    }

    /// No SYN-ACK: refused (RST or ICMP), or the SYNs matched against Linux's schedule.
    func handshake() -> Diagnosis {
        let c = sides[0]
        let server = tracker.server
        let first = c.synTimes.first ?? tracker.firstAt
        if let r = sides[1].rstAt {
            return Diagnosis(outcome: Outcome(status: .refused, mechanism: .rst, detectedAt: r, errno: "ECONNREFUSED",
                                              summary: "connection refused: the server answered the SYN with RST after \(DurationText.elapsed(r - (c.synTimes.last ?? first)))"),
                             findings: [DiagnosisFinding(severity: .critical, kind: "refused", t: r, summary: "\(server) refused the connection (RST in answer to the SYN)")])
        }
        if let icmp = tracker.icmpErrors.first {
            let refused = icmp.errno == "ECONNREFUSED"
            return Diagnosis(outcome: Outcome(status: refused ? .refused : .unreachable, mechanism: .icmp, detectedAt: icmp.t, errno: icmp.errno,
                                              summary: "\(icmp.text)" + (icmp.errno.map { " -> \($0)" } ?? "")),
                             findings: [DiagnosisFinding(severity: .critical, kind: "unreachable", t: icmp.t, summary: "\(icmp.text) for the SYN to \(server)")])
        }
        if let r = c.rstAt {
            let summary = "the client aborted its connection attempt: RST \(DurationText.elapsed(r - (c.synTimes.last ?? first))) after its SYN, no SYN-ACK seen (a half-open scan probe or a connect given up)"
            return Diagnosis(outcome: Outcome(status: .closed, mechanism: .rst, detectedAt: r, summary: summary),
                             findings: [DiagnosisFinding(severity: .notice, kind: "client-abort", t: r, summary: summary)])
        }
        let k = c.synCount
        let lastSYN = c.synTimes.last ?? first
        if k == 1 && captureEnd - lastSYN < Self.answerWait {
            // Linux resends an unanswered SYN after 1 s: a shorter capture cannot tell.
            let summary = "the capture ends \(DurationText.elapsed(captureEnd - lastSYN)) after the SYN to \(server): too short to judge (an answer or the first retransmission is due within \(DurationText.trimmed(Self.answerWait)) s)"
            return Diagnosis(outcome: Outcome(status: .undetermined, mechanism: .none, summary: summary,
                                              extra: [("syns", .int(1)), ("covered_after_syn_s", .double(round6(captureEnd - lastSYN)))]),
                             findings: [DiagnosisFinding(severity: .notice, kind: "syn-capture-too-short", t: lastSYN, summary: summary)])
        }
        let times = c.synTimes.map { $0 - first }
        var model: SYNSchedule?
        search: for linear in [4, 0, 1, 2, 3, 5, 6] {
            for n in 1...15 {
                let m = SYNSchedule(syncnt: n, linearTimeouts: linear)
                guard m.nominalSynTimes.count == k else { continue }
                if zip(times, m.nominalSynTimes).allSatisfy({ abs($0 - $1) <= 0.08 + 0.03 * $1 }) { model = m; break search }
            }
        }
        var extra: [(String, JSONValue)] = [("syns", .int(Int64(k))), ("first_syn_at", .double(round6(first)))]
        guard let m = model else {
            let text = "no answer to \(plural(k, "SYN")) (the last at \(timeText(lastSYN))); the capture ends at \(timeText(captureEnd))"
            return Diagnosis(outcome: Outcome(status: .timeout, mechanism: k > 1 ? .synRetriesExhausted : .none, summary: text,
                                              explanation: k > 2 ? "the SYN gaps do not match Linux's schedule for any TCP_SYNCNT/tcp_syn_retries" : nil, extra: extra),
                             findings: [DiagnosisFinding(severity: .critical, kind: "syn-unanswered", t: lastSYN, summary: "\(server): " + text)])
        }
        let giveUp = first + m.nominalGiveUpAt
        extra.append(("syncnt", .int(Int64(m.syncnt))))
        extra.append(("syn_linear_timeouts", .int(Int64(m.linearTimeouts))))
        let seen = captureEnd >= giveUp
        let text = "no answer to \(k) SYNs; " + (seen ? "the kernel gave up at about \(timeText(giveUp)) (ETIMEDOUT)"
                                                    : "the capture ends at \(timeText(captureEnd)), the kernel gives up at about \(timeText(giveUp)) (ETIMEDOUT)")
        return Diagnosis(outcome: Outcome(status: .timeout, mechanism: .synRetriesExhausted, detectedAt: nil, predictedAt: giveUp, errno: "ETIMEDOUT",
                                          summary: text,
                                          explanation: "the SYN gaps match Linux's schedule: \(m.formula); the give-up itself sends nothing, so it is predicted, not seen (timers fire up to ~2.4 % late)",
                                          extra: extra),
                         findings: [DiagnosisFinding(severity: .critical, kind: "syn-retries-exhausted", t: giveUp, summary: "\(server): \(text)")])
    }

    /// Unanswered keepalive probes: KEEPIDLE and KEEPINTVL read off their spacing.
    func keepalive(side: Int) -> Diagnosis {
        let me = sides[side]
        let who = name(side), peer = name(1 - side)
        let silent = tracker.lastHeardBeforeProbes(side: side)
        let probes = me.probeTimes
        let n = me.probesUnanswered
        let idle = (probes.first ?? silent) - silent
        let gaps = zip(probes.dropFirst(), probes).map { $0 - $1 }.sorted()
        let interval = gaps.isEmpty ? nil : gaps[gaps.count / 2]
        var extra: [(String, JSONValue)] = [("silent_since", .double(round6(silent))), ("probes_unanswered", .int(Int64(n))),
                                            ("keepidle_s_observed", .double(round6(idle)))]
        if let interval { extra.append(("keepintvl_s_observed", .double(round6(interval)))) }
        var predicted: Double?
        var explanation = "probes from the \(who) start \(DurationText.elapsed(idle)) after the last segment from the \(peer) (KEEPIDLE ≈ \(Int(idle.rounded())) s)"
        if let interval {
            let model = KeepaliveSchedule(idle: idle.rounded(), interval: interval.rounded() == 0 ? interval : interval.rounded(), count: n)
            predicted = silent + model.nominalAbortAt
            explanation += ", \(DurationText.elapsed(interval)) apart (KEEPINTVL ≈ \(DurationText.trimmed(interval.rounded() == 0 ? interval : interval.rounded())) s)"
        }
        if let r = me.rstAt {
            let summary = "the \(peer) went silent at \(timeText(silent)); \(plural(n, "keepalive probe")) unanswered; the \(who) reset the connection at \(timeText(r)) (keepalive)"
            if let p = predicted { explanation += "; with KEEPCNT \(n) the kernel aborts at \(timeText(p)) (a TCP_USER_TIMEOUT would end it at a probe firing too)" }
            return Diagnosis(outcome: Outcome(status: .detected, mechanism: .keepalive, detectedAt: r, predictedAt: predicted, errno: "ETIMEDOUT",
                                              summary: summary, explanation: explanation, extra: extra),
                             findings: [DiagnosisFinding(severity: .critical, kind: "keepalive-death", t: r, summary: summary)])
        }
        let summary = "the \(peer) went silent at \(timeText(silent)); \(plural(n, "keepalive probe")) from the \(who) unanswered when the capture ends at \(timeText(captureEnd))"
        return Diagnosis(outcome: Outcome(status: .timeout, mechanism: .keepalive, summary: summary, explanation: explanation, extra: extra),
                         findings: [DiagnosisFinding(severity: .critical, kind: "keepalive-unanswered", t: probes.last, summary: summary)])
    }

    /// Retransmissions into silence: where the kernel gave up says tcp_retries2 or
    /// TCP_USER_TIMEOUT, counted from the first RTO retransmission.
    func retransmissions(side: Int) -> Diagnosis {
        let me = sides[side]
        let who = name(side), peer = name(1 - side)
        let times = me.episodeTimes
        let original = me.episodeOriginalAt
        // The first retransmission may be a tail-loss probe; the RTO retransmissions double.
        var all = [Double]()
        if let o = original { all.append(o) }
        all += times
        var rsIndex = 0
        for i in 0..<times.count {
            let j = i + (original == nil ? 0 : 1)
            guard j >= 1, j + 1 < all.count else { continue }
            let before = all[j] - all[j - 1], after = all[j + 1] - all[j]
            if after >= 1.6 * before { rsIndex = i; break }
        }
        let rs = times[rsIndex]
        let last = times.last!
        let lastInterval = times.count >= 2 ? last - times[times.count - 2] : (original.map { last - $0 } ?? 0.2)
        let nextDue = last + min(120, 2 * lastInterval)
        let silent = original ?? times[0]
        var extra: [(String, JSONValue)] = [("retransmissions", .int(Int64(times.count))), ("first_rto_retransmission_at", .double(round6(rs))),
                                            ("last_retransmission_at", .double(round6(last)))]
        var lo = last - rs, hi: Double
        var detected: Double?
        if let r = me.rstAt { hi = r - rs; lo = hi; detected = r }
        else if captureEnd >= nextDue { hi = nextDue - rs } else {
            let giveUp = rs + RetransmissionSchedule.retries2Budget(retries2)
            extra.append(("capture_covers_after_last_s", .double(round6(captureEnd - last))))
            let summary = "the \(peer) stopped acknowledging at \(timeText(silent)); the \(who) was still retransmitting (\(times.count) retransmissions, the last at \(timeText(last))) when the capture ended \(DurationText.elapsed(captureEnd - last)) later"
            return Diagnosis(outcome: Outcome(status: .timeout, mechanism: .none, predictedAt: giveUp, summary: summary,
                                              explanation: "nothing came back while the \(who) retransmitted: the \(peer) or the path to it is gone; with tcp_retries2=\(retries2) a Linux sender gives up at about \(timeText(giveUp)) (\(DurationText.format(RetransmissionSchedule.retries2Budget(retries2))) after the first RTO retransmission), sending nothing",
                                              extra: extra),
                             findings: [DiagnosisFinding(severity: .critical, kind: "retransmitting", t: last, summary: summary)])
        }
        extra.append(("gave_up_after", .double(round6(rs + lo))))
        extra.append(("gave_up_by", .double(round6(rs + hi))))
        let matching = (1...15).filter { let b = RetransmissionSchedule.retries2Budget($0); return b > lo - 0.03 && b <= hi + 0.03 * hi + 0.03 }
        let gaveUp = detected.map { "the \(who) reset the connection at \(timeText($0))" }
            ?? "nothing more from the \(who) although the next retransmission was due by \(timeText(nextDue)): the kernel gave up between \(timeText(last)) and \(timeText(nextDue))"
        let base = "the \(peer) stopped acknowledging at \(timeText(silent)); \(times.count) retransmissions from the \(who) (the first RTO one at \(timeText(rs))); \(gaveUp)"
        if matching.contains(retries2) {
            let summary = base + " (retransmission-limit: tcp_retries2=\(retries2))"
            return Diagnosis(outcome: Outcome(status: .detected, mechanism: .retransmissionLimit, detectedAt: detected,
                                              predictedAt: rs + RetransmissionSchedule.retries2Budget(retries2), errno: "ETIMEDOUT", summary: summary, extra: extra),
                             findings: [DiagnosisFinding(severity: .critical, kind: "retransmission-limit", t: detected ?? rs + hi, summary: summary)])
        }
        let also = matching.isEmpty ? "" : "; tcp_retries2=\(matching.map(String.init).joined(separator: " or ")) would also stop here"
        let utText = abs(hi - lo) < 0.001 ? "TCP_USER_TIMEOUT ≈ \(DurationText.trimmed(hi)) s" : "TCP_USER_TIMEOUT between \(DurationText.trimmed(lo)) s and \(DurationText.trimmed(hi)) s"
        let summary = base + " (user-timeout)"
        return Diagnosis(outcome: Outcome(status: .detected, mechanism: .userTimeout, detectedAt: detected, errno: "ETIMEDOUT", summary: summary,
                                          explanation: "the \(who) gave up long before tcp_retries2=\(retries2) would (\(DurationText.format(RetransmissionSchedule.retries2Budget(retries2))) after the first RTO retransmission): \(utText), counted from the first RTO retransmission\(also)",
                                          extra: extra),
                         findings: [DiagnosisFinding(severity: .critical, kind: "user-timeout", t: detected ?? rs + hi, summary: summary)])
    }

    /// What the connection showed besides its outcome: resets its kernel ignored, a FIN
    /// nobody acknowledged, a connect that needed SYN retransmissions, one direction missing.
    public func notes() -> [DiagnosisFinding] {
        var out: [DiagnosisFinding] = []
        for side in [0, 1] {
            let me = sides[side], who = name(side), peer = name(1 - side)
            if let (t, why) = me.firstIgnoredRST {
                out.append(DiagnosisFinding(severity: .warning, kind: "rst-ignored", t: t,
                                            summary: "\(plural(me.ignoredRSTs, "RST")) from the \(who) (the first at \(timeText(t))) that the \(peer)'s kernel ignores: \(why); a forged (injected, blind) reset or a stale one, not the end of the connection"))
            }
            if me.finAt != nil && me.finAckedAt == nil && !me.finRetransmitTimes.isEmpty && me.rstAt == nil && sides[1 - side].rstAt == nil {
                let times = me.finRetransmitTimes, sent = times.count + 1
                let span = times.last! - me.finAt!
                out.append(DiagnosisFinding(severity: .warning, kind: "fin-unacknowledged", t: times.last,
                                            summary: "the \(who)'s FIN was sent \(sent) times over \(DurationText.elapsed(span)) (the last at \(timeText(times.last!))) and never acknowledged: the \(peer) or the path to it is gone; a Linux \(who) that closed its socket gives up after tcp_orphan_retries retransmissions (8 when 0) and drops the connection silently"))
            }
        }
        for side in [0, 1] { if let f = pathMTUNote(side: side) { out.append(f) } }
        let c = sides[0], sv = sides[1]
        if c.synCount > 1, let synAck = sv.synAckAt, let first = c.synTimes.first {
            // One retransmission costs a second; more, or a long wait, is a connect users notice.
            out.append(DiagnosisFinding(severity: c.synCount > 2 || synAck - first >= 3 ? .warning : .notice, kind: "syn-retransmitted", t: synAck,
                                        summary: "the connect took \(DurationText.elapsed(synAck - first)): \(plural(c.synCount - 1, "SYN retransmission")) before the SYN-ACK (SYNs or SYN-ACKs lost, or the server's accept queue full)"))
        }
        if c.synData > 0 {
            out.append(DiagnosisFinding(severity: .info, kind: "tcp-fast-open", t: c.synTimes.first,
                                        summary: "TCP Fast Open: \(c.synData) bytes in the client's SYN, " + (c.synDataAcked ? "acknowledged by the SYN-ACK" : sv.synAckAt == nil ? "no SYN-ACK seen" : "not accepted by the server (its SYN-ACK acknowledged only the SYN; the client sent them again)")))
        }
        for side in [0, 1] where sides[1 - side].packets == 0 && sides[side].ackSegments >= 2 {
            out.append(DiagnosisFinding(severity: .notice, kind: "one-direction", t: nil,
                                        summary: "only the \(name(side))'s packets were captured (\(sides[side].packets)): the \(name(1 - side))'s never appear (a capture of one direction, or asymmetric routing past the capture point); its silence is not taken for an unanswered SYN or probe"))
        }
        return out
    }

    /// Path MTU discovery as the capture shows it: after "fragmentation needed" / "packet too
    /// big" the sender's segments must fit the next-hop MTU (RFC 1191 §6.3, RFC 8201 §4). IP
    /// and TCP headers without options take 40 bytes (IPv4) or 60 (IPv6) of it.
    func pathMTUNote(side: Int) -> DiagnosisFinding? {
        let me = sides[side]
        guard let p = me.pathMTU else { return nil }
        let who = name(side)
        let v6 = me.endpoint.address.isIPv6
        let fits = Int(p.mtu) - (v6 ? 60 : 40)
        let signal = "\(plural(p.count, "ICMP message")) \(v6 ? "packet too big" : "fragmentation needed") (next-hop MTU \(p.mtu)) from \(p.from) quoting the \(who)'s segments, the first at \(timeText(p.firstAt))"
        let largest = me.largestPayloadAfterPathMTU
        if largest == 0 {
            return DiagnosisFinding(severity: .info, kind: "path-mtu", t: p.firstAt,
                                    summary: "\(signal); the \(who) sent no data after it in the capture")
        }
        if largest <= fits {
            return DiagnosisFinding(severity: .info, kind: "path-mtu", t: p.firstAt,
                                    summary: "\(signal): the \(who)'s later segments fit it (at most \(largest) bytes of payload) and it sent the dropped data again (path MTU discovery worked; the too-large packets cost retransmissions)")
        }
        return DiagnosisFinding(severity: .warning, kind: "path-mtu-ignored", t: p.firstAt,
                                summary: "\(signal), but the \(who) still sent \(largest)-byte segments after it (at most \(fits) fit): path MTU discovery is not working at the \(who) (the ICMP does not reach its kernel, or PMTU discovery is off), so large segments keep being dropped")
    }
}
