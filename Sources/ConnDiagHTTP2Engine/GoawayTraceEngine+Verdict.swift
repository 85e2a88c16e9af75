import Glibc
import ConnDiagCore
import ConnDiagHTTP2
import ConnDiagDiagnosis

extension GoawayTraceEngine {
    /// What the run showed, for the HTTP/2 diagnosers (the same evidence analyze builds
    /// from a capture).
    func evidence(established: Double, ended: (at: Double, how: ConnectionEnd)?, stopAt: Double) -> HTTP2Evidence {
        var e = HTTP2Evidence(observedUntil: stopAt, observation: "run")
        e.connectionStartedAt = established
        e.goaways = goaways.map { GoawayEvidence(t: $0.t, from: .server, lastStreamID: $0.lastStreamID, code: $0.code, debug: $0.debug) }
        e.rstStreams = inboundResets
        e.clientPingsSent = pingsSentCount
        e.pingTimeout = config.pingTimeout
        e.streams = streams.map { r in
            StreamEvidence(id: r.id, openedAt: r.openedAt, endedAt: r.endedAt, end: r.end,
                           resetBy: r.inboundReset == nil ? nil : .server, resetAt: r.inboundReset == nil ? nil : r.endedAt)
        }
        if let end = ended {
            switch end.how {
            case .eof: e.close = ConnectionClose(at: end.at, by: .server, how: .fin)
            case .error(let errno) where errno == ECONNRESET: e.close = ConnectionClose(at: end.at, by: .server, how: .rst)
            case .error(let errno): e.close = ConnectionClose(at: end.at, by: nil, how: .error(ErrnoName.name(errno)))
            case .pingTimeout(let sentAt):
                e.unansweredPings = [PingEvidence(sentAt: sentAt, from: .client)]
                e.close = ConnectionClose(at: end.at, by: .client, how: .error("PING timeout"))
            case .sessionFailed(let m), .tlsAlert(let m): e.close = ConnectionClose(at: end.at, by: .client, how: .error(m))
            }
        }
        return e
    }

    func verdict(established: Double, ended: (at: Double, how: ConnectionEnd)?, stopAt: Double, interrupted: Bool, wire: [FlowObservation]) -> Outcome {
        let evidence = evidence(established: established, ended: ended, stopAt: stopAt)
        let d = GoawayDrainDiagnoser.diagnose(evidence)
        lastDrain = d
        let refused = streams.filter { if case .refusedByGoaway = $0.end { return true }; return false }
        let killed = streams.filter { if case .killedByConnectionClose = $0.end { return true }; return false }
        let open = streams.filter { $0.end == .open }
        let wireEnd: String = {
            if let fin = wire.first(where: { $0.kind == .fin && $0.direction == .in }) { return "FIN from the server at t=\(DurationText.trimmed(fin.t))s" }
            if let rst = wire.first(where: { $0.kind == .rst && $0.direction == .in }) { return "RST from the server at t=\(DurationText.trimmed(rst.t))s" }
            return ""
        }()
        var extra: [(String, JSONValue)] = [("streams_refused", .int(Int64(refused.count))), ("streams_killed", .int(Int64(killed.count))),
                                            ("streams_open", .int(Int64(open.count)))]

        if interrupted {
            return Outcome(status: .error, mechanism: .none, summary: "interrupted after \(DurationText.format(stopAt - established))", extra: extra)
        }
        if let timeout = PingTimeoutDiagnoser.diagnose(evidence) {
            var o = timeout.outcome
            o.extra = extra
            return o
        }
        if !protocolErrors.isEmpty && (goaways.isEmpty || protocolErrors[0].t <= goaways[0].t) {
            // The server broke the protocol: say what, and what the client stack did about it.
            let reasons = protocolErrors.map(\.reason)
            var unique: [String] = []
            for r in reasons where !unique.contains(r) { unique.append(r) }
            return Outcome(status: .error, mechanism: .none, detectedAt: protocolErrors[0].t,
                           summary: "HTTP/2 protocol error by the server: " + unique.prefix(2).joined(separator: "; "),
                           explanation: (killed.isEmpty ? "" : "\(killed.count) open stream\(killed.count == 1 ? "" : "s") lost; ") + (wireEnd.isEmpty ? "" : wireEnd),
                           extra: extra + [("protocol_errors", .array(unique.map { .string($0) }))])
        }
        guard let d else {
            // No GOAWAY. A stream reset with an error says more than how the connection ended
            // (analyze decides in the same order).
            if let reset = ProxyResetDiagnoser.diagnose(evidence) {
                var o = reset.outcome
                o.extra = extra + [("streams_reset", .int(Int64(ProxyResetDiagnoser.errorResets(in: evidence).count)))]
                return o
            }
            // The connection ended under us, or the run ended.
            guard let end = ended else {
                let note = open.isEmpty ? "every stream finished" : "\(open.count) stream\(open.count == 1 ? "" : "s") still open"
                return Outcome(status: .survived, mechanism: .none, summary: "no GOAWAY and no close in \(DurationText.format(stopAt - established)); \(note)", extra: extra)
            }
            let rst: Bool = { if case .error(let e) = end.how { return e == ECONNRESET }; return false }()
            let inboundH2 = inboundFrames > 0
            if case .tlsAlert(let m) = end.how {
                return Outcome(status: .error, mechanism: .tlsAlert, detectedAt: end.at,
                               summary: "\(m) after the handshake (a server that requires a client certificate says so only then in TLS 1.3)", extra: extra)
            }
            let inboundBytes = wire.filter { $0.direction == .in && ($0.kind == .data || $0.kind == .fin) }.reduce(0) { $0 + $1.length }
            // Over TLS the wire's bytes are records, not frames: this test is for h2c.
            if !inboundH2 && inboundBytes > 0 && config.tls == nil {
                return Outcome(status: .error, mechanism: rst ? .peerRst : .peerFin, detectedAt: end.at, errno: rst ? "ECONNRESET" : nil,
                               summary: "not HTTP/2: the server sent \(inboundBytes) bytes that are no HTTP/2 frame and closed the connection (does it speak h2c with prior knowledge?)",
                               explanation: wireEnd.isEmpty ? nil : wireEnd, extra: extra)
            }
            if case .sessionFailed(let m) = end.how {
                return Outcome(status: .error, mechanism: .none, detectedAt: end.at, summary: "HTTP/2 protocol error: \(m)", extra: extra)
            }
            let killedText = killed.isEmpty ? "no stream was open" : "\(killed.count) open stream\(killed.count == 1 ? "" : "s") killed: grpc-go/java/core report UNAVAILABLE, a request-level proxy INTERNAL"
            return Outcome(status: .closed, mechanism: rst ? .peerRst : .peerFin, detectedAt: end.at,
                           predictedAt: nil, errno: rst ? "ECONNRESET" : nil,
                           summary: "the server dropped the connection with no GOAWAY (\(rst ? "RST" : "FIN")); \(killedText)",
                           explanation: wireEnd.isEmpty ? nil : wireEnd, extra: extra)
        }

        extra += [("connection_age_s", d.connectionAge.map { .double(round6($0)) } ?? .null), ("grace_s", d.grace.map { .double(round6($0)) } ?? .null),
                  ("double_goaway", .bool(d.isDouble)), ("goaway_debug", .string(d.debug))]
        if let failed = GoawayErrorDiagnoser.diagnose(evidence), let g = GoawayErrorDiagnoser.goaway(in: evidence) {
            var o = failed.outcome
            o.extra = extra + [("error_code", .string(g.code.name))]
            return o
        }
        var o = d.diagnosis.outcome
        o.extra = extra
        return o
    }

    // MARK: - JSON

    func streamJSON(_ r: StreamRecord) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("stream_id", r.notSent ? JSONValue.null : .int(Int64(r.id)))
        b.add("opened_at", round6(r.openedAt))
        b.add("ended_at", r.endedAt.map { JSONValue.double(round6($0)) } ?? .null)
        b.add("open_at_first_goaway", r.openAtFirstGoaway)
        let (how, detail) = streamEnd(r)
        b.add("end", how)
        b.add("detail", detail)
        if let h = r.http {
            b.add("http_status", h.status)
            b.add("data_bytes", h.dataBytes)
            if let g = h.grpcStatus { b.add("grpc_status", g.name) }
            if let m = h.grpcMessage { b.add("grpc_message", m) }
        }
        b.add("clients", GRPCClientRows.json(for: r.end, grpc: config.kind.isGRPC))
        return b.value
    }

    func describeEnd(_ e: StreamEnd) -> (String, String) {
        e.described(openDetail: goaways.isEmpty ? "still open" : "still open on a draining connection")
    }

    func drainJSON() -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("goaways", .array(goaways.map { g in
            .object([("t", .double(round6(g.t))), ("last_stream_id", .int(Int64(g.lastStreamID))), ("error_code", .string(g.code.name)), ("debug_data", .string(g.debug))])
        }))
        if let d = lastDrain {
            b.add("double_goaway", d.isDouble)
            b.add("connection_age_s", d.connectionAge.map { JSONValue.double(round6($0)) } ?? .null)
            b.add("grace_s", d.grace.map { JSONValue.double(round6($0)) } ?? .null)
            b.add("grace_expired_with_open_streams", !d.cutShort.isEmpty)
            b.add("ended_by", d.graceExpiry.map { JSONValue.string($0.rawValue) } ?? .null)
            b.add("server_pings_after_goaway", serverPingsAfterGoawayCount)
        }
        return b.value
    }

    func pingsJSON() -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("sent", pingsSentCount)
        let s = pingRTTSummary
        b.add("acked", s.count)
        s.addMilliseconds(to: &b, prefix: "rtt")
        return b.value
    }
}
