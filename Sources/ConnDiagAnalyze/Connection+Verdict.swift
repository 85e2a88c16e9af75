import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2

extension Connection {

    /// Builds the report: outcome with mechanism (ARCHITECTURE.md §3) and findings.
    /// `captureEnd` is the time of the last packet in the whole input.
    func report(captureEnd: Double, retries2: Int) -> ConnectionReport {
        let endHow: String? = {
            if let r = sides.indices.filter({ sides[$0].rstAt != nil }).min(by: { sides[$0].rstAt! < sides[$1].rstAt! }) { return "RST from the \(Connection.name(r))" }
            if let f = sides.indices.filter({ sides[$0].finAt != nil }).min(by: { sides[$0].finAt! < sides[$1].finAt! }) { return "FIN from the \(Connection.name(f))" }
            return nil
        }()
        flushHeld(at: lastAt)
        h2?.finalize(endedAt: closedAt ?? (endHow != nil ? lastAt : captureEnd), how: endHow)
        var findings: [Finding] = []
        let outcome = verdict(captureEnd: captureEnd, retries2: retries2, findings: &findings)
        addSideFindings(&findings)
        addCapturePointFindings(&findings)
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
        if let tls { details.append(("tls", tlsJSON(tls))) }
        if let h2 {
            details.append(("http2", h2JSON(h2)))
            streamJSON = h2.closedStreams.map { streamRecordJSON($0, h2) }
        }
        var report = ConnectionReport(index: index, client: client, server: server, clientChosenBy: clientChosenBy,
                                midConnection: midConnection, firstAt: firstAt, lastAt: lastAt, packets: packets,
                                bytesClientToServer: sides[0].payloadBytes, bytesServerToClient: sides[1].payloadBytes,
                                events: events, omittedEvents: omittedEvents, outcome: outcome, findings: findings,
                                protocolName: tls != nil && h2?.sawHTTP2 != true ? "tls" : h2?.sawHTTP2 != true ? "tcp" : (h2!.isGRPC ? "grpc" : "http2"),
                                streams: streamJSON, details: details, notes: notes)
        report.omittedStreams = h2?.omittedStreamRecords ?? 0
        report.streamsKilledByClose = h2?.closedStreams.filter { if case .killedByConnectionClose = $0.end { return true } else { return false } }.count ?? 0
        if let tls { report.protocolDetail = tlsSummary(tls) }
        return report
    }

    // MARK: - The outcome

    /// The TCP verdicts that decide first (a failed handshake, talking into silence), then
    /// HTTP/2's, then how the connection closed: each from its diagnoser.
    private func verdict(captureEnd: Double, retries2: Int, findings: inout [Finding]) -> Outcome {
        let tcp = CapturedTCPDiagnoser(tracker: tracker, captureEnd: captureEnd, retries2: retries2)
        findings += tcp.notes().map { Finding($0, connection: index) }
        if let d = tcp.handshakeOrSilence() { return take(d, into: &findings) }
        if let tls, let o = tlsVerdict(tls, findings: &findings) { return o }
        if let h2, let o = h2Verdict(h2, findings: &findings) { return o }
        return take(tcp.close(), into: &findings)
    }

    /// A diagnosis's outcome, its findings tied to this connection.
    private func take(_ d: Diagnosis, extra: [(String, JSONValue)] = [], into findings: inout [Finding]) -> Outcome {
        findings += d.findings.map { Finding($0, connection: index) }
        var o = d.outcome
        o.extra += extra
        return o
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
        func take(_ d: Diagnosis, extra: [(String, JSONValue)] = []) -> Outcome { self.take(d, extra: extra, into: &findings) }
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

    /// Two capture points, each with only one side's packets: the directions took different
    /// paths (asymmetric routing, or two taps each on one direction). Judged from both
    /// together; said so, because either capture alone would look like a one-way connection.
    private func addCapturePointFindings(_ findings: inout [Finding]) {
        let a = capturedAt[0], b = capturedAt[1]
        guard a != 0, b != 0, a & b == 0, let points = capturePoints else { return }
        findings.append(Finding(severity: .notice, kind: "asymmetric-capture", connection: index, t: nil,
                                summary: "the client's packets were captured only on \(points.describe(a)), the server's only on \(points.describe(b)): each capture point saw one direction (asymmetric routing, or one tap per direction); the connection is judged from both together"))
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
                                        summary: "PING from the \(Connection.name(p.side)) at t=\(DurationText.trimmed(p.t)) s never acknowledged"))
            }
            addHeaderBlockFindings(h2, &findings)
            for side in 0..<2 {
                guard let v = h2.firstViolation[side] else { continue }
                let more = h2.violationCount[side] - 1
                findings.append(Finding(severity: .warning, kind: "h2-protocol-violation", connection: index, t: v.t,
                                        summary: "HTTP/2 protocol violation by the \(Connection.name(side)) at t=\(DurationText.trimmed(v.t)) s: \(v.reason)"
                                            + (more > 0 ? " (\(more) more)" : "")))
            }
            for (side, reason) in h2.lost.enumerated() {
                if let reason { findings.append(Finding(severity: .notice, kind: "h2-decoding-stopped", connection: index, t: nil, summary: "HTTP/2 from the \(Connection.name(side)): \(reason)")) }
            }
        }
    }

    /// Header blocks that could not be decoded: what they said (`:status`, `grpc-status`) is
    /// unknown, which is never left unsaid. A warning when the HPACK state was known (the
    /// peer or the capture is broken), a notice when it could not be (mid-connection, a gap).
    private func addHeaderBlockFindings(_ h2: H2Session, _ findings: inout [Finding]) {
        for side in 0..<2 {
            guard let first = h2.undecodableBlocks.first(where: { $0.side == side }) else { continue }
            let streams = h2.undecodableBlocks.filter { $0.side == side }.map(\.stream)
            var ids: [Int32] = []
            for id in streams where !ids.contains(id) { ids.append(id) }
            let n = h2.undecodableCount[side]
            let why = first.stateKnown ? first.reason
                : "\(first.reason); the HPACK state was unknown (\(h2.fromStart ? "bytes lost in a capture gap" : "the capture began mid-connection"))"
            findings.append(Finding(severity: first.stateKnown ? .warning : .notice, kind: "hpack-error", connection: index, t: first.t,
                                    summary: "\(n) header block\(n == 1 ? "" : "s") from the \(Connection.name(side)) could not be decoded"
                                        + " (stream\(ids.count == 1 ? "" : "s") \(ids.prefix(8).map(String.init).joined(separator: ", "))\(ids.count > 8 || n > h2.undecodableBlocks.filter { $0.side == side }.count ? ", ..." : "")),"
                                        + " the first at t=\(DurationText.trimmed(first.t)) s: \(why); their :status and grpc-status are unknown"))
        }
    }

    // MARK: - JSON

    private func h2JSON(_ h2: H2Session) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("from_connection_start", h2.fromStart)
        b.add("frames_client", h2.frameCounts[0])
        b.add("frames_server", h2.frameCounts[1])
        b.add("frames", .object((0..<2).map { side in
            (Connection.name(side), .object(h2.framesByType(side: side).map { ($0.type, .int(Int64($0.count))) }))
        }))
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
        let gaps = (0..<2).compactMap { i -> (String, JSONValue)? in
            guard let d = h2.directions[i], d.gapBytes > 0 else { return nil }
            return (Connection.name(i), .object([("missing_bytes", .int(Int64(d.gapBytes))), ("resynchronisations", .int(Int64(d.resyncs))),
                                                 ("skipped_bytes", .int(Int64(d.decoder.resyncSkippedBytes)))]))
        }
        if !gaps.isEmpty { b.add("capture_gaps", .object(gaps)) }
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
