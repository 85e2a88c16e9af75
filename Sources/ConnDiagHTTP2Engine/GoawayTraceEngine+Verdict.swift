import Glibc
import ConnDiagCore
import ConnDiagHTTP2

extension GoawayTraceEngine {
    /// The drain as gRPC A9 describes it: GOAWAY(2^31-1) + PING, then the real
    /// last-stream-id after the PING ACK, then the close when streams end or grace expires.
    public struct Drain {
        public var firstGoawayAt: Double
        public var isDoubleGoaway: Bool
        public var age: Double
        public var grace: Double?
        public var graceExpiredWithOpenStreams: Bool
        public var endedBy: String?
        public var debug: String
        public var code: HTTP2ErrorCode
    }

    func drain(established: Double, closedAt: Double?) -> Drain? {
        guard let first = goaways.first else { return nil }
        let double = goaways.count >= 2 && first.lastStreamID == Int32.max
        let openAtFirst = streams.filter { $0.openAtFirstGoaway }
        let graceful: (StreamRecord) -> Bool = { r in
            if case .completed(_, let g, _) = r.end { return g == nil || g == .ok }
            return false
        }
        let cutShort = openAtFirst.filter { r in
            switch r.end {
            case .completed, .reset: return !graceful(r)
            case .killedByConnectionClose: return true
            default: return false
            }
        }
        let lastEnd = openAtFirst.compactMap { $0.endedAt }.max()
        var graceEnd: Double? = closedAt
        if let l = lastEnd, openAtFirst.allSatisfy({ $0.endedAt != nil }) { graceEnd = min(graceEnd ?? l, l) }
        var endedBy: String?
        if !cutShort.isEmpty {
            let byTrailers = cutShort.contains { if case .completed = $0.end { return true }; if case .reset(_, let t) = $0.end { return t != nil }; return false }
            endedBy = byTrailers ? "the server ended the open streams with trailers (grpc-status) and RST_STREAM, then closed"
                : "the server closed the TCP connection with streams still open (clients see an I/O error)"
        }
        return Drain(firstGoawayAt: first.t, isDoubleGoaway: double, age: first.t - established,
                     grace: graceEnd.map { $0 - first.t }, graceExpiredWithOpenStreams: !cutShort.isEmpty,
                     endedBy: endedBy, debug: goaways.map(\.debug).first { !$0.isEmpty } ?? "", code: goaways.last!.code)
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    func verdict(established: Double, ended: (at: Double, how: ConnectionEnd)?, stopAt: Double, interrupted: Bool, wire: [FlowObservation]) -> Outcome {
        let closedAt = ended?.at
        let d = drain(established: established, closedAt: closedAt)
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
        func refusedNote() -> String {
            refused.isEmpty ? "" : "\n\(refused.count) stream\(refused.count == 1 ? "" : "s") opened after the GOAWAY were refused on this connection (not processed: safe to retry elsewhere)"
        }

        if interrupted {
            return Outcome(status: .error, mechanism: .none, summary: "interrupted after \(DurationText.format(stopAt - established))", extra: extra)
        }
        if let end = ended, case .pingTimeout(let sentAt) = end.how {
            return Outcome(status: .detected, mechanism: .h2PingTimeout, detectedAt: end.at, predictedAt: sentAt + config.pingTimeout,
                           summary: "the PING sent at t=\(DurationText.trimmed(sentAt))s got no ACK within \(DurationText.format(config.pingTimeout))", extra: extra)
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
            // No GOAWAY: the connection ended under us, or the run ended.
            guard let end = ended else {
                let resets = streams.filter { if case .reset(_, nil) = $0.end { return true }; return false }
                var note = open.isEmpty ? "every stream finished" : "\(open.count) stream\(open.count == 1 ? "" : "s") still open"
                if let r = resets.first, case .reset(let code, _) = r.end {
                    let status = GRPCStatusCode(rstStream: code).name
                    note = "the server reset stream \(r.id) with RST_STREAM \(code.name): clients report \(status)" + (resets.count > 1 ? " (\(resets.count) streams reset)" : "")
                    if code == .internalError { note += "; a proxy does this when its upstream fails, which is why clients see INTERNAL rather than UNAVAILABLE" }
                    extra.append(("streams_reset", .int(Int64(resets.count))))
                }
                return Outcome(status: .survived, mechanism: .none, summary: "no GOAWAY and no close in \(DurationText.format(stopAt - established)); \(note)", extra: extra)
            }
            let rst: Bool = { if case .error(let e) = end.how { return e == ECONNRESET }; return false }()
            let inboundH2 = timeline.events.contains { $0.source == .h2 && $0.direction == .in }
            let inboundBytes = wire.filter { $0.direction == .in && ($0.kind == .data || $0.kind == .fin) }.reduce(0) { $0 + $1.length }
            if !inboundH2 && inboundBytes > 0 {
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

        extra += [("connection_age_s", .double(round6(d.age))), ("grace_s", d.grace.map { .double(round6($0)) } ?? .null),
                  ("double_goaway", .bool(d.isDoubleGoaway)), ("goaway_debug", .string(d.debug))]
        let shortDebug = d.debug.count > 80 ? String(d.debug.prefix(80)) + "… (\(d.debug.utf8.count)+ bytes)" : d.debug
        let drainText = (d.isDoubleGoaway ? "double GOAWAY (A9 graceful drain)" : "GOAWAY \(d.code.name)")
            + " after a connection age of \(DurationText.trimmed(d.age))s" + (shortDebug.isEmpty ? "" : " (\"\(shortDebug)\")")

        if d.code != .noError {
            var advice = ""
            if d.code == .enhanceYourCalm && d.debug.contains("too_many_pings") {
                advice = "the client pings more often than the server permits. Fix on the client: raise keepalive time (ping-time) to at least the server's minimum (grpc default GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS = 5 min) and do not set permit-without-stream unless the server allows it; or on the server: lower grpc.http2.min_ping_interval_without_data_ms / raise grpc.http2.max_ping_strikes and set grpc.keepalive_permit_without_calls=1. grpc-go clients double their keepalive time after this GOAWAY."
            }
            return Outcome(status: .closed, mechanism: .goaway, detectedAt: d.firstGoawayAt, errno: nil,
                           summary: "the server sent GOAWAY \(d.code.name)" + (d.debug.isEmpty ? "" : " \"\(d.debug)\"") + " after \(pingsSentCount) client PING\(pingsSentCount == 1 ? "" : "s")"
                                + (d.debug.contains("too_many_pings") ? " (a strike for each PING sooner than the server allows; the third strike ends the connection)" : ""),
                           explanation: advice.isEmpty ? nil : advice, extra: extra + [("error_code", .string(d.code.name))])
        }
        guard let end = ended else {
            let openText = open.isEmpty ? "no stream open" : "stream\(open.count == 1 ? "" : "s") \(open.map { String($0.id) }.joined(separator: ", ")) still open on a draining connection"
            return Outcome(status: .survived, mechanism: .goaway, detectedAt: d.firstGoawayAt,
                           summary: "\(drainText); \(openText) when the run ended \(DurationText.format(stopAt - d.firstGoawayAt)) later" + refusedNote(),
                           explanation: "without a grace period the server waits for the streams to finish; a stream that never ends keeps the old connection alive",
                           extra: extra)
        }
        _ = end
        if d.graceExpiredWithOpenStreams {
            return Outcome(status: .closed, mechanism: .goawayGraceExpired, detectedAt: d.grace.map { d.firstGoawayAt + $0 } ?? closedAt,
                           summary: "\(drainText); the grace period (\(d.grace.map { DurationText.trimmed($0) + "s" } ?? "?")) expired with streams open",
                           explanation: (d.endedBy ?? "") + (wireEnd.isEmpty ? "" : "; \(wireEnd)") + refusedNote(), extra: extra)
        }
        return Outcome(status: .closed, mechanism: .goaway, detectedAt: closedAt,
                       summary: "\(drainText); every stream finished before the close (graceful)" + (wireEnd.isEmpty ? "" : "; \(wireEnd)"),
                       explanation: refusedNote().isEmpty ? nil : String(refusedNote().dropFirst()), extra: extra)
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
            b.add("double_goaway", d.isDoubleGoaway)
            b.add("connection_age_s", round6(d.age))
            b.add("grace_s", d.grace.map { JSONValue.double(round6($0)) } ?? .null)
            b.add("grace_expired_with_open_streams", d.graceExpiredWithOpenStreams)
            b.add("ended_by", d.endedBy.map { JSONValue.string($0) } ?? .null)
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
