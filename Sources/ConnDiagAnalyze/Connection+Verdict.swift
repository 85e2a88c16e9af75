import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2
import ConnDiagDiagnosis

extension Connection {
    private func s(_ t: Double) -> String { "t=" + DurationText.trimmed(t) + " s" }

    /// Builds the report: outcome with mechanism (ARCHITECTURE.md §3) and findings.
    /// `captureEnd` is the time of the last packet in the whole input.
    func report(captureEnd: Double, retries2: Int) -> ConnectionReport {
        let endHow: String? = {
            if let r = sides.indices.filter({ sides[$0].rstAt != nil }).min(by: { sides[$0].rstAt! < sides[$1].rstAt! }) { return "RST from the \(Connection.name(r))" }
            if let f = sides.indices.filter({ sides[$0].finAt != nil }).min(by: { sides[$0].finAt! < sides[$1].finAt! }) { return "FIN from the \(Connection.name(f))" }
            return nil
        }()
        h2?.finalize(endedAt: closedAt ?? (endHow != nil ? lastAt : captureEnd), how: endHow)
        var findings: [Finding] = []
        let outcome = verdict(captureEnd: captureEnd, retries2: retries2, findings: &findings)
        addSideFindings(&findings)
        findings.sort { $0.severity != $1.severity ? $0.severity > $1.severity : ($0.t ?? 0) < ($1.t ?? 0) }

        var details: [(String, JSONValue)] = []
        details.append(("tcp", .object(sides.indices.map { i in
            let x = sides[i]
            var b = JSONObjectBuilder()
            b.add("packets", x.packets)
            b.add("payload_bytes", x.payloadBytes)
            b.add("syns", x.synCount)
            b.add("retransmissions", x.retransmissions)
            b.add("keepalive_probes", x.probesTotal)
            b.add("keepalive_probes_answered", x.probesAnswered)
            b.add("zero_window_episodes", x.zeroWindowEpisodes)
            b.add("dup_acks", x.dupAcks)
            b.add("capture_missed_bytes", x.missedBytes)
            b.add("snaplen_cut_segments", x.snaplenCut)
            b.add("fin_at", x.finAt.map { JSONValue.double(round6($0)) } ?? .null)
            b.add("rst_at", x.rstAt.map { JSONValue.double(round6($0)) } ?? .null)
            return (Connection.name(i), b.value)
        })))
        var streamJSON: [JSONValue] = []
        if let h2 {
            details.append(("http2", h2JSON(h2)))
            streamJSON = h2.closedStreams.map { streamRecordJSON($0, h2) }
        }
        var report = ConnectionReport(index: index, client: client, server: server, clientChosenBy: clientChosenBy,
                                midConnection: midConnection, firstAt: firstAt, lastAt: lastAt, packets: packets,
                                bytesClientToServer: sides[0].payloadBytes, bytesServerToClient: sides[1].payloadBytes,
                                events: events, omittedEvents: omittedEvents, outcome: outcome, findings: findings,
                                protocolName: h2 == nil ? "tcp" : (h2!.isGRPC ? "grpc" : "http2"),
                                streams: streamJSON, details: details, notes: notes)
        report.omittedStreams = h2?.omittedStreamRecords ?? 0
        return report
    }

    // MARK: - The outcome

    private func verdict(captureEnd: Double, retries2: Int, findings: inout [Finding]) -> Outcome {
        let c = sides[0], sv = sides[1]
        // 1. The handshake never completed.
        if !midConnection && c.synCount > 0 && sv.synAckAt == nil {
            return handshakeVerdict(captureEnd: captureEnd, findings: &findings)
        }
        // 2. A side probing a silent peer (keepalive) or retransmitting into silence.
        for side in [0, 1] where sides[side].probesUnanswered > 0 && sides[side].episodeTimes.isEmpty {
            return keepaliveVerdict(side: side, captureEnd: captureEnd, findings: &findings)
        }
        for side in [0, 1] where !sides[side].episodeTimes.isEmpty && sides[side].unacked(peerAck: sides[1 - side].ackSent) > 0
            && (sides[1 - side].lastAt ?? 0) <= (sides[side].episodeTimes.first ?? 0) + 0.001 {
            return retransmissionVerdict(side: side, captureEnd: captureEnd, retries2: retries2, findings: &findings)
        }
        // 3. HTTP/2: PINGs never answered, drains, stalls, resets.
        if let h2, let o = h2Verdict(h2, findings: &findings) { return o }
        // 4. TCP closes.
        let rstSide = [0, 1].filter { sides[$0].rstAt != nil }.min { sides[$0].rstAt! < sides[$1].rstAt! }
        let finSide = [0, 1].filter { sides[$0].finAt != nil }.min { sides[$0].finAt! < sides[$1].finAt! }
        if let r = rstSide, finSide == nil || sides[r].rstAt! <= sides[finSide!].finAt! {
            let t = sides[r].rstAt!
            if r == 1 {
                findings.append(Finding(severity: .warning, kind: "peer-rst", connection: index, t: t, summary: "the server reset the connection at \(s(t))"))
                return Outcome(status: .closed, mechanism: .peerRst, detectedAt: t, errno: "ECONNRESET",
                               summary: "the server reset the connection (RST) at \(s(t))")
            }
            findings.append(Finding(severity: .notice, kind: "client-rst", connection: index, t: t, summary: "the client reset the connection at \(s(t))"))
            return Outcome(status: .closed, mechanism: .rst, detectedAt: t, summary: "the client reset the connection (RST) at \(s(t))")
        }
        if let f = finSide {
            let t = sides[f].finAt!
            let other = sides[1 - f].finAt.map { "; the \(Connection.name(1 - f)) answered with its FIN at \(s($0))" } ?? "; no FIN from the \(Connection.name(1 - f)) in the capture"
            if f == 1 {
                return Outcome(status: .closed, mechanism: .peerFin, detectedAt: t, summary: "the server closed the connection (FIN) at \(s(t))" + other)
            }
            return Outcome(status: .closed, mechanism: .none, detectedAt: t, summary: "the client closed the connection (FIN) at \(s(t))" + other)
        }
        return Outcome(status: .connected, mechanism: .none,
                       summary: "open at the end of the capture (last packet at \(s(lastAt)))" + (midConnection ? "; the capture began mid-connection" : ""))
    }

    private func handshakeVerdict(captureEnd: Double, findings: inout [Finding]) -> Outcome {
        let c = sides[0]
        let first = c.synTimes.first ?? firstAt
        if let r = sides[1].rstAt {
            findings.append(Finding(severity: .critical, kind: "refused", connection: index, t: r, summary: "\(server) refused the connection (RST in answer to the SYN)"))
            return Outcome(status: .refused, mechanism: .rst, detectedAt: r, errno: "ECONNREFUSED",
                           summary: "connection refused: the server answered the SYN with RST after \(DurationText.elapsed(r - (c.synTimes.last ?? first)))")
        }
        if let icmp = icmpErrors.first {
            let refused = icmp.errno == "ECONNREFUSED"
            findings.append(Finding(severity: .critical, kind: "unreachable", connection: index, t: icmp.t, summary: "\(icmp.text) for the SYN to \(server)"))
            return Outcome(status: refused ? .refused : .unreachable, mechanism: .icmp, detectedAt: icmp.t, errno: icmp.errno,
                           summary: "\(icmp.text)" + (icmp.errno.map { " -> \($0)" } ?? ""))
        }
        let times = c.synTimes.map { $0 - first }
        let k = c.synCount
        var model: SYNSchedule?
        search: for linear in [4, 0, 1, 2, 3, 5, 6] {
            for n in 1...15 {
                let m = SYNSchedule(syncnt: n, linearTimeouts: linear)
                guard m.nominalSynTimes.count == k else { continue }
                if zip(times, m.nominalSynTimes).allSatisfy({ abs($0 - $1) <= 0.08 + 0.03 * $1 }) { model = m; break search }
            }
        }
        let lastSYN = c.synTimes.last ?? first
        var extra: [(String, JSONValue)] = [("syns", .int(Int64(k))), ("first_syn_at", .double(round6(first)))]
        guard let m = model else {
            let text = "no answer to \(k) SYN\(k == 1 ? "" : "s") (the last at \(s(lastSYN))); the capture ends at \(s(captureEnd))"
            findings.append(Finding(severity: .critical, kind: "syn-unanswered", connection: index, t: lastSYN, summary: "\(server): " + text))
            return Outcome(status: .timeout, mechanism: k > 1 ? .synRetriesExhausted : .none, summary: text,
                           explanation: k > 2 ? "the SYN gaps do not match Linux's schedule for any TCP_SYNCNT/tcp_syn_retries" : nil, extra: extra)
        }
        let giveUp = first + m.nominalGiveUpAt
        extra.append(("syncnt", .int(Int64(m.syncnt))))
        extra.append(("syn_linear_timeouts", .int(Int64(m.linearTimeouts))))
        let seen = captureEnd >= giveUp
        let text = "no answer to \(k) SYNs; " + (seen ? "the kernel gave up at about \(s(giveUp)) (ETIMEDOUT)"
                                                    : "the capture ends at \(s(captureEnd)), the kernel gives up at about \(s(giveUp)) (ETIMEDOUT)")
        findings.append(Finding(severity: .critical, kind: "syn-retries-exhausted", connection: index, t: giveUp, summary: "\(server): \(text)"))
        return Outcome(status: .timeout, mechanism: .synRetriesExhausted, detectedAt: nil, predictedAt: giveUp, errno: "ETIMEDOUT",
                       summary: text,
                       explanation: "the SYN gaps match Linux's schedule: \(m.formula); the give-up itself sends nothing, so it is predicted, not seen (timers fire up to ~2.4 % late)",
                       extra: extra)
    }

    private func keepaliveVerdict(side: Int, captureEnd: Double, findings: inout [Finding]) -> Outcome {
        let me = sides[side]
        let who = Connection.name(side), peer = Connection.name(1 - side)
        let silent = lastHeardBeforeProbes(side: side)
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
            let summary = "the \(peer) went silent at \(s(silent)); \(n) keepalive probe\(n == 1 ? "" : "s") unanswered; the \(who) reset the connection at \(s(r)) (keepalive)"
            findings.append(Finding(severity: .critical, kind: "keepalive-death", connection: index, t: r, summary: summary))
            if predicted != nil { explanation += "; with KEEPCNT \(n) the kernel aborts at \(s(predicted!)) (a TCP_USER_TIMEOUT would end it at a probe firing too)" }
            return Outcome(status: .detected, mechanism: .keepalive, detectedAt: r, predictedAt: predicted, errno: "ETIMEDOUT",
                           summary: summary, explanation: explanation, extra: extra)
        }
        let summary = "the \(peer) went silent at \(s(silent)); \(n) keepalive probe\(n == 1 ? "" : "s") from the \(who) unanswered when the capture ends at \(s(captureEnd))"
        findings.append(Finding(severity: .critical, kind: "keepalive-unanswered", connection: index, t: probes.last, summary: summary))
        return Outcome(status: .timeout, mechanism: .keepalive, summary: summary, explanation: explanation, extra: extra)
    }

    private func retransmissionVerdict(side: Int, captureEnd: Double, retries2: Int, findings: inout [Finding]) -> Outcome {
        let me = sides[side]
        let who = Connection.name(side), peer = Connection.name(1 - side)
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
            let summary = "the \(peer) stopped acknowledging at \(s(silent)); the \(who) was still retransmitting (\(times.count) retransmissions, the last at \(s(last))) when the capture ended"
            findings.append(Finding(severity: .critical, kind: "retransmitting", connection: index, t: last, summary: summary))
            return Outcome(status: .timeout, mechanism: .none, summary: summary, extra: extra)
        }
        extra.append(("gave_up_after", .double(round6(rs + lo))))
        extra.append(("gave_up_by", .double(round6(rs + hi))))
        let matching = (1...15).filter { let b = RetransmissionSchedule.retries2Budget($0); return b > lo - 0.03 && b <= hi + 0.03 * hi + 0.03 }
        let gaveUp = detected.map { "the \(who) reset the connection at \(s($0))" }
            ?? "nothing more from the \(who) although the next retransmission was due by \(s(nextDue)): the kernel gave up between \(s(last)) and \(s(nextDue))"
        let base = "the \(peer) stopped acknowledging at \(s(silent)); \(times.count) retransmissions from the \(who) (the first RTO one at \(s(rs))); \(gaveUp)"
        if matching.contains(retries2) {
            let summary = base + " (retransmission-limit: tcp_retries2=\(retries2))"
            findings.append(Finding(severity: .critical, kind: "retransmission-limit", connection: index, t: detected ?? rs + hi, summary: summary))
            return Outcome(status: .detected, mechanism: .retransmissionLimit, detectedAt: detected, predictedAt: rs + RetransmissionSchedule.retries2Budget(retries2),
                           errno: "ETIMEDOUT", summary: summary, extra: extra)
        }
        let also = matching.isEmpty ? "" : "; tcp_retries2=\(matching.map(String.init).joined(separator: " or ")) would also stop here"
        let utText = abs(hi - lo) < 0.001 ? "TCP_USER_TIMEOUT ≈ \(DurationText.trimmed(hi)) s" : "TCP_USER_TIMEOUT between \(DurationText.trimmed(lo)) s and \(DurationText.trimmed(hi)) s"
        let summary = base + " (user-timeout)"
        findings.append(Finding(severity: .critical, kind: "user-timeout", connection: index, t: detected ?? rs + hi, summary: summary))
        return Outcome(status: .detected, mechanism: .userTimeout, detectedAt: detected, errno: "ETIMEDOUT", summary: summary,
                       explanation: "the \(who) gave up long before tcp_retries2=\(retries2) would (\(DurationText.format(RetransmissionSchedule.retries2Budget(retries2))) after the first RTO retransmission): \(utText), counted from the first RTO retransmission\(also)",
                       extra: extra)
    }

    // MARK: - HTTP/2

    /// What the capture showed of this connection's HTTP/2, for the diagnosers (the same
    /// evidence the live engines build).
    private func h2Evidence(_ h2: H2Session) -> HTTP2Evidence {
        let closeAt = closedAt ?? [sides[0].finAt, sides[1].finAt, sides[0].rstAt, sides[1].rstAt].compactMap { $0 }.min()
        let closer: Int? = {
            let c = [0, 1].compactMap { i -> (Int, Double)? in
                let t = [sides[i].finAt, sides[i].rstAt].compactMap { $0 }.min()
                return t.map { (i, $0) }
            }
            return c.min { $0.1 < $1.1 }?.0
        }()
        var e = HTTP2Evidence(observedUntil: lastAt, observation: "capture")
        e.connectionStartedAt = midConnection ? nil : (sides[0].synTimes.first ?? firstAt)
        e.goaways = h2.goaways.map { GoawayEvidence(t: $0.t, from: H2Session.sender($0.side), lastStreamID: $0.last, code: $0.code, debug: $0.debug) }
        e.rstStreams = h2.rstStreams.map { RSTStreamEvidence(t: $0.t, from: H2Session.sender($0.side), streamID: $0.stream, code: $0.code) }
        e.clientPingsSent = h2.pingsSent[0]
        e.unansweredPings = h2.unansweredPings.map { PingEvidence(sentAt: $0.t, from: H2Session.sender($0.side)) }
        e.streams = h2.closedStreams.map { s in
            StreamEvidence(id: s.id, openedAt: s.openedAt, endedAt: s.endedAt, end: s.end,
                           resetBy: s.reset.map { H2Session.sender($0.by) }, resetAt: s.reset?.at)
        }
        e.stalls = h2.stalls.map { x in
            FlowControlStall(sender: H2Session.sender(x.sender), since: x.since, until: x.until, ongoing: x.ongoing, scope: x.scope,
                             bytesWaiting: x.waiting, windowKnown: x.exact, pingsAnswered: x.pingsAnswered, receiverLastUpdate: x.receiverLastUpdate)
        }
        if let closeAt {
            let rst = closer.map { sides[$0].rstAt != nil && (sides[$0].finAt == nil || sides[$0].rstAt! < sides[$0].finAt!) } ?? false
            e.close = ConnectionClose(at: closeAt, by: closer.map(H2Session.sender), how: rst ? .rst : .fin)
        }
        return e
    }

    private func h2Verdict(_ h2: H2Session, findings: inout [Finding]) -> Outcome? {
        let e = h2Evidence(h2)
        func take(_ d: HTTP2Diagnosis, extra: [(String, JSONValue)] = []) -> Outcome {
            findings += d.findings.map { Finding($0, connection: index) }
            var o = d.outcome
            o.extra += extra
            return o
        }
        if let d = PingTimeoutDiagnoser.diagnose(e) { return take(d) }
        if let d = GoawayErrorDiagnoser.diagnose(e) { return take(d) }
        // A drain still under way yields to a stall that keeps the connection stuck.
        if let drain = GoawayDrainDiagnoser.diagnose(e), e.close != nil || e.stalls.isEmpty {
            let g1 = drain.first
            return take(drain.diagnosis, extra: [
                ("double_goaway", .bool(drain.isDouble)), ("connection_age_s", drain.connectionAge.map { .double(round6($0)) } ?? .null),
                ("grace_s", drain.grace.map { .double(round6($0)) } ?? .null), ("goaway_at", .double(round6(g1.t))),
                ("goaway_debug", .string(g1.debug)),
            ])
        }
        if let d = FlowControlStallDiagnoser.diagnose(e, threshold: stallThreshold) { return take(d) }
        if let d = ProxyResetDiagnoser.diagnose(e), let r = ProxyResetDiagnoser.errorResets(in: e).first {
            return take(d, extra: [("stream_id", .int(Int64(r.streamID))), ("error_code", .string(r.code.name))])
        }
        return nil
    }

    private func addSideFindings(_ findings: inout [Finding]) {
        for i in 0..<2 {
            let x = sides[i], who = Connection.name(i)
            if x.missedBytes > 0 {
                findings.append(Finding(severity: .notice, kind: "capture-gap", connection: index, t: nil,
                                        summary: "the capture missed \(x.missedBytes) bytes from the \(who) in \(x.missedRanges) place\(x.missedRanges == 1 ? "" : "s") (the other side acknowledged them)"))
            }
            if let hs = x.holeStart, let he = x.holeEnd {
                findings.append(Finding(severity: .notice, kind: "capture-gap", connection: index, t: nil,
                                        summary: "\(Int(he &- hs)) bytes from the \(who) (seq \(x.relative(hs))) never appear in the capture: missed by the capture or lost"))
            }
            if x.snaplenCut > 0 {
                findings.append(Finding(severity: .notice, kind: "snaplen", connection: index, t: nil,
                                        summary: "\(x.snaplenCut) segments from the \(who) were cut by the snapshot length; their payload could not be decoded"))
            }
            if x.longestZeroWindow > stallThreshold || (x.zeroWindowSince.map { lastAt - $0 > stallThreshold } ?? false) {
                findings.append(Finding(severity: .warning, kind: "zero-window", connection: index, t: x.zeroWindowSince,
                                        summary: "the \(who) advertised a zero window for up to \(DurationText.elapsed(max(x.longestZeroWindow, x.zeroWindowSince.map { lastAt - $0 } ?? 0))): its application stopped reading"))
            }
            if x.retransmissions > 0 && (x.longestEpisode >= 3 || x.retransmissions >= 10) {
                findings.append(Finding(severity: .info, kind: "retransmissions", connection: index, t: nil,
                                        summary: "\(x.retransmissions) retransmissions from the \(who) (up to \(x.longestEpisode) in a row) that recovered"))
            }
        }
        if let h2 {
            for p in h2.unansweredPings.prefix(3) where !findings.contains(where: { $0.kind == "h2-ping-timeout" }) {
                findings.append(Finding(severity: .warning, kind: "ping-unanswered", connection: index, t: p.t,
                                        summary: "PING from the \(Connection.name(p.side)) at \(s(p.t)) never acknowledged"))
            }
            for (side, reason) in h2.lost.enumerated() {
                if let reason { findings.append(Finding(severity: .notice, kind: "h2-decoding-stopped", connection: index, t: nil, summary: "HTTP/2 from the \(Connection.name(side)): \(reason)")) }
            }
        }
    }

    // MARK: - JSON

    private func h2JSON(_ h2: H2Session) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("from_connection_start", h2.fromStart)
        b.add("frames_client", h2.frameCounts[0])
        b.add("frames_server", h2.frameCounts[1])
        b.add("data_bytes_client", h2.dataBytes[0])
        b.add("data_bytes_server", h2.dataBytes[1])
        b.add("streams", h2.closedStreamCount)
        b.add("stream_ends", .object(h2.endCounts.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) }))
        let rtts = h2.pingRTTs.sorted()
        var p = JSONObjectBuilder()
        p.add("sent_client", h2.pingsSent[0])
        p.add("sent_server", h2.pingsSent[1])
        p.add("acked", rtts.count)
        p.add("unanswered", h2.unansweredPings.count)
        if !rtts.isEmpty {
            p.add("rtt_min_ms", (rtts.first! * 1e6).rounded() / 1e3)
            p.add("rtt_median_ms", (rtts[rtts.count / 2] * 1e6).rounded() / 1e3)
            p.add("rtt_max_ms", (rtts.last! * 1e6).rounded() / 1e3)
        }
        b.add("pings", p.value)
        b.add("goaways", .array(h2.goaways.map { g in
            .object([("t", .double(round6(g.t))), ("from", .string(Connection.name(g.side))), ("last_stream_id", .int(Int64(g.last))),
                     ("error_code", .string(g.code.name)), ("debug_data", .string(g.debug))])
        }))
        b.add("flow_control_stalls", .array(h2.stalls.map { x in
            .object([("sender", .string(Connection.name(x.sender))), ("scope", x.scope == 0 ? .string("connection") : .int(Int64(x.scope))),
                     ("since", .double(round6(x.since))), ("until", .double(round6(x.until))), ("ongoing", .bool(x.ongoing)),
                     ("bytes_waiting", .int(Int64(x.waiting))), ("window_known", .bool(x.exact)), ("pings_answered", .int(Int64(x.pingsAnswered)))])
        }))
        if !h2.problems.isEmpty { b.add("problems", .array(h2.problems.prefix(20).map { .string($0) })) }
        let lost = h2.lost.enumerated().compactMap { i, r in r.map { (Connection.name(i), JSONValue.string($0)) } }
        if !lost.isEmpty { b.add("decoding_stopped", .object(lost)) }
        return b.value
    }

    private func streamRecordJSON(_ r: H2Stream, _ h2: H2Session) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("stream_id", Int(r.id))
        b.add("opened_at", round6(r.openedAt))
        b.add("ended_at", r.endedAt.map { JSONValue.double(round6($0)) } ?? .null)
        let (how, detail) = describe(r.end)
        b.add("end", how)
        b.add("detail", detail)
        b.add("method", r.method)
        b.add("path", r.path)
        b.add("http_status", r.httpStatus)
        if let g = r.grpcStatus { b.add("grpc_status", g.name) }
        b.add("grpc_message", r.grpcMessage)
        b.add("data_bytes_client", r.dataBytes[0])
        b.add("data_bytes_server", r.dataBytes[1])
        b.add("headers_undecodable", r.undecodable)
        let grpc = r.isGRPC || h2.isGRPC
        b.add("clients", GRPCClientRows.json(for: r.end, grpc: grpc))
        return b.value
    }

    private func describe(_ e: StreamEnd) -> (String, String) {
        e.described(openDetail: "still open at the end of the capture")
    }
}

extension H2Session {
    var isGRPC: Bool { placedGRPC }
}
