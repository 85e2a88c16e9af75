import Glibc
import ConnDiagCore

/// Decides which mechanism found (or would find) a dead or silent peer on an established
/// connection — keepalive, TCP_USER_TIMEOUT, the retransmission limit, an HTTP/2 PING
/// timeout, the peer's FIN or RST, an ICMP error — from the evidence (errno, unanswered
/// probes, unacknowledged data, PINGs without ACK), not from the clock, and sets it beside
/// the kernel model's predictions. Pure: the same evidence gives the same verdict.
public struct DeadPeerDiagnoser {
    public let kernel: KernelSettings
    public init(kernel: KernelSettings) { self.kernel = kernel }

    public struct Verdict {
        public var outcome: Outcome
        /// The `predictions` object of the report (keepalive abort, RTO limit, user timeout, PING).
        public var predictions: [(String, JSONValue)]
    }

    /// What the evidence says about the time since the peer was last heard.
    struct Silence {
        var lastRx: Double
        var probes: [FlowObservation]
        var retransmits: [FlowObservation]
        var unacked: Int
        var inboundRST: FlowObservation?
        var icmp: FlowObservation?
        var rs: Double?
    }

    /// The model's predicted moments for this connection.
    struct Predictions {
        var keepSchedule: KeepaliveSchedule?
        var keepaliveAbort: Double?
        var userTimeoutAt: Double?
        var limitAt: Double?
        var pingTimeoutAt: Double?
        var json: [(String, JSONValue)] = []
        var earliest: Double? { [keepaliveAbort, userTimeoutAt, limitAt, pingTimeoutAt].compactMap { $0 }.min() }
    }

    public func diagnose(_ ev: DeadPeerEvidence) -> Verdict {
        let s = silence(ev)
        let p = predict(ev, s)
        return Verdict(outcome: outcome(ev, s, p), predictions: p.json)
    }

    func silence(_ ev: DeadPeerEvidence) -> Silence {
        let endAt = ev.end?.at ?? ev.stopAt
        // The last segment the peer sent before the end (keepalive and A8 count from it).
        let lastRx = ev.wire.filter { o in
            guard o.direction == .in, o.t <= endAt else { return false }
            switch o.kind { case .rst, .damaged: return false; default: return true }
        }.map(\.t).max() ?? ev.established
        let probes = ev.wire.filter { $0.isKeepaliveProbe && $0.t > lastRx && $0.t <= endAt }.sorted { $0.t < $1.t }
        let retransmits = ev.wire.filter { $0.isRetransmission && $0.t > lastRx && $0.t <= endAt }.sorted { $0.t < $1.t }
        let unacked = ev.tcpInfo.last { $0.t < endAt }?.unacked ?? 0
        let inboundRST = ev.wire.filter { $0.kind == .rst && $0.direction == .in && $0.t <= endAt + 0.2 }.max { $0.t < $1.t }
        let icmp = ev.wire.filter { ($0.icmp?.isUnreachable ?? false) && $0.t <= endAt }.max { $0.t < $1.t }
        // rs: the first RTO retransmission (TCP_INFO retransmits turns 1 there; a tail-loss
        // probe before it does not count).
        var rs: Double?
        if let sample = ev.firstRetransmitSampleAt {
            rs = retransmits.last(where: { $0.t <= sample + 0.001 })?.t ?? sample
        } else if let first = retransmits.first {
            rs = retransmits.count > 1 ? retransmits[1].t : first.t
        }
        return Silence(lastRx: lastRx, probes: probes, retransmits: retransmits, unacked: unacked,
                       inboundRST: inboundRST, icmp: icmp, rs: rs)
    }

    func predict(_ ev: DeadPeerEvidence, _ s: Silence) -> Predictions {
        let o = ev.settings, ut = o.userTimeout, hz = kernel.hz
        var p = Predictions()
        if o.keepalive {
            let k = KeepaliveSchedule(idle: Double(o.keepIdle), interval: Double(o.keepIntvl), count: o.keepCnt, userTimeout: ut, hz: hz)
            p.keepSchedule = k
            p.keepaliveAbort = s.lastRx + k.abortAt
            p.json.append(("keepalive_abort_at", .double(round6(s.lastRx + k.abortAt))))
            p.json.append(("keepalive_probes_at", .array(k.probes.map { .double(round6(s.lastRx + $0)) })))
        } else {
            let k = KeepaliveSchedule(idle: Double(o.keepIdle), interval: Double(o.keepIntvl), count: o.keepCnt)
            p.json.append(("keepalive_abort_at", .null))
            p.json.append(("keepalive_note", .string("SO_KEEPALIVE is off; with it on, an idle dead peer would be found \(DurationText.format(k.abortAt)) after the last segment")))
        }
        if let rs = s.rs {
            // The RTO in force at the first RTO retransmission, from the last sample before it.
            let rtoAtRS = ev.tcpInfo.last { $0.t < rs }.map { max(0.2, $0.rtoMs / 1000) } ?? 0.2
            p.json.append(("first_rto_retransmission_at", .double(round6(rs))))
            let limit = RetransmissionSchedule(firstRTO: rtoAtRS, retries2: kernel.tcpRetries2, rtoMax: kernel.rtoMax, hz: hz)
            p.limitAt = rs + limit.giveUpAt
            p.json.append(("retransmission_limit_at", .double(round6(rs + limit.giveUpAt))))
            if ut > 0 {
                let u = RetransmissionSchedule(firstRTO: rtoAtRS, retries2: kernel.tcpRetries2, userTimeout: ut, rtoMax: kernel.rtoMax, hz: hz)
                p.userTimeoutAt = rs + u.giveUpAt
                p.json.append(("user_timeout_at", .double(round6(rs + u.giveUpAt))))
            }
        }
        if let h2 = ev.h2, let time = h2.pingTime, let timeout = h2.pingTimeout {
            let schedule = H2PingSchedule(lastRead: h2.lastReadAt, pingTime: time, pingTimeout: timeout)
            p.pingTimeoutAt = schedule.timeoutAt
            p.json.append(("h2_ping_at", .double(round6(schedule.pingAt))))
            p.json.append(("h2_ping_timeout_at", .double(round6(schedule.timeoutAt))))
        }
        return p
    }

    func outcome(_ ev: DeadPeerEvidence, _ s: Silence, _ p: Predictions) -> Outcome {
        guard let end = ev.end else { return unended(ev, s, p) }
        switch end.how {
        case .h2PingTimeout(let sentAt):
            // The PING verdict is the HTTP/2 diagnoser's (the same as goaway-trace's and
            // analyze's); the dead-peer view adds when A8 predicted it, from the last read,
            // and what the kernel was doing meanwhile.
            var h2Evidence = HTTP2Evidence(observedUntil: end.at, observation: "run")
            h2Evidence.unansweredPings = [PingEvidence(sentAt: sentAt, from: .client)]
            h2Evidence.close = ConnectionClose(at: end.at, by: .client, how: .error("PING timeout"))
            h2Evidence.pingTimeout = ev.h2?.pingTimeout
            let h2 = ev.h2
            let ut = ev.settings.userTimeout
            var o = PingTimeoutDiagnoser.diagnose(h2Evidence)?.outcome
                ?? Outcome(status: .detected, mechanism: .h2PingTimeout, detectedAt: end.at, summary: "HTTP/2 PING timeout")
            o.summary = "dead peer detected by HTTP/2 PING keepalive: " + o.summary
            o.predictedAt = p.pingTimeoutAt
            o.explanation = "A8: a PING goes out ping-time \(DurationText.format(h2?.pingTime ?? 0)) after the last read (t=\(DurationText.trimmed(h2?.lastReadAt ?? 0))s); no ACK within ping-timeout closes the connection"
                + (s.retransmits.isEmpty ? "" : "\nmeanwhile the kernel was retransmitting (\(s.retransmits.count) so far)" + (ut > 0 ? "" : " and, with no TCP_USER_TIMEOUT, would only give up at t=\(p.limitAt.map { DurationText.trimmed($0) } ?? "?")s"))
            o.extra = [("pings_sent", .int(Int64(h2?.pingsSent ?? 0)))]
            return o
        case .h2ProtocolError(let why):
            return Outcome(status: .error, mechanism: .none, detectedAt: end.at, summary: "HTTP/2 protocol error: \(why)")
        case .eof:
            return closedByPeer(ev, fin: true, at: end.at, rst: s.inboundRST)
        case .socketError(let e):
            if e == ECONNRESET || e == EPIPE { return closedByPeer(ev, fin: false, at: end.at, rst: s.inboundRST) }
            return kernelEnd(ev, errno: e, at: end.at, s, p)
        }
    }

    /// The watch stopped before anything ended the connection.
    func unended(_ ev: DeadPeerEvidence, _ s: Silence, _ p: Predictions) -> Outcome {
        let watched = DurationText.format(ev.stopAt - ev.established)
        if ev.interrupted {
            return Outcome(status: .error, mechanism: .none, predictedAt: p.earliest,
                           summary: "interrupted after \(watched) of watching; nothing detected yet")
        }
        // Survived the run: say what is still pending and when it is predicted to fire.
        var pending: (String, Double)?
        if !s.retransmits.isEmpty || s.unacked > 0 {
            if let u = p.userTimeoutAt { pending = ("still retransmitting; TCP_USER_TIMEOUT gives up at about t=\(DurationText.trimmed(u))s", u) }
            else if let l = p.limitAt { pending = ("still retransmitting; the kernel gives up at about t=\(DurationText.trimmed(l))s (tcp_retries2=\(kernel.tcpRetries2), \(DurationText.format(l - (s.rs ?? 0))) after the first RTO retransmission)", l) }
        } else if !s.probes.isEmpty, let k = p.keepaliveAbort {
            pending = ("\(s.probes.count) keepalive probe\(s.probes.count == 1 ? "" : "s") unanswered; the kernel aborts at about t=\(DurationText.trimmed(k))s", k)
        } else if let k = p.keepaliveAbort, ev.flowCut {
            pending = ("idle; keepalive would find a dead peer at about t=\(DurationText.trimmed(k))s", k)
        }
        let summary = "survived the \(watched) watch" + (pending.map { "; " + $0.0 } ?? "; the connection stayed healthy")
        return Outcome(status: .survived, mechanism: .none, detectedAt: nil, predictedAt: pending?.1, summary: summary,
                       extra: [("retransmissions", .int(Int64(s.retransmits.count))), ("keepalive_probes", .int(Int64(s.probes.count)))])
    }

    func closedByPeer(_ ev: DeadPeerEvidence, fin: Bool, at: Double, rst: FlowObservation?) -> Outcome {
        if fin {
            let finSeen = ev.wire.filter { $0.kind == .fin && $0.direction == .in }.max { $0.t < $1.t }
            return Outcome(status: .closed, mechanism: .peerFin, detectedAt: at, predictedAt: finSeen?.t,
                           summary: "the peer closed the connection with FIN; read() returned EOF",
                           explanation: finSeen.map { "FIN on the wire at t=\(DurationText.trimmed($0.t))s; the application saw it \(DurationText.elapsed(max(0, at - $0.t))) later" })
        }
        return Outcome(status: .closed, mechanism: .peerRst, detectedAt: at, predictedAt: rst?.t, errno: "ECONNRESET",
                       summary: "the peer reset the connection (RST) -> ECONNRESET",
                       explanation: rst.map { "RST on the wire at t=\(DurationText.trimmed($0.t))s; detection is immediate, nothing to wait for" })
    }

    /// The kernel ended the connection with an errno (ETIMEDOUT from a timer, or an ICMP error).
    func kernelEnd(_ ev: DeadPeerEvidence, errno e: Int32, at: Double, _ s: Silence, _ p: Predictions) -> Outcome {
        let name = ErrnoName.name(e)
        let o = ev.settings, ut = o.userTimeout
        if let icmp = s.icmp, let facts = icmp.icmp, e != ETIMEDOUT {
            return Outcome(status: .detected, mechanism: .icmp, detectedAt: at, predictedAt: icmp.t, errno: name,
                           summary: "\(facts.name) from \(facts.from) -> \(name)")
        }
        guard e == ETIMEDOUT else {
            return Outcome(status: .error, mechanism: .none, detectedAt: at, errno: name, summary: "the socket failed: \(ErrnoName.message(e)) (\(name))")
        }
        let retransmits = s.retransmits.count, probes = s.probes.count
        if retransmits > 0 || s.unacked > 0 {
            if ut > 0 {
                var why = "predicted at the first RTO retransmission (t=\(s.rs.map { DurationText.trimmed($0) } ?? "?")s) + TCP_USER_TIMEOUT \(DurationText.format(ut)); keepalive does not apply while data is unacknowledged"
                var extra: [(String, JSONValue)] = [("retransmissions", .int(Int64(retransmits)))]
                if let h2 = ev.h2, let pingTime = h2.pingTime {
                    // The busy-connection case: every read reset the A8 PING timer.
                    extra.append(("pings_sent", .int(Int64(h2.pingsSent))))
                    why += "\n\(h2.pingsSent) HTTP/2 PING\(h2.pingsSent == 1 ? "" : "s") sent: the PING timer counts from the last read (t=\(DurationText.trimmed(h2.lastReadAt))s), so the first PING was due at t=\(DurationText.trimmed(h2.lastReadAt + pingTime))s; TCP_USER_TIMEOUT found the dead peer first"
                }
                return Outcome(status: .detected, mechanism: .userTimeout, detectedAt: at, predictedAt: p.userTimeoutAt, errno: name,
                               summary: "dead peer detected by TCP_USER_TIMEOUT: \(retransmits) retransmissions unacknowledged -> ETIMEDOUT",
                               explanation: why, extra: extra)
            }
            return Outcome(status: .detected, mechanism: .retransmissionLimit, detectedAt: at, predictedAt: p.limitAt, errno: name,
                           summary: "dead peer detected by the retransmission limit (tcp_retries2=\(kernel.tcpRetries2)) after \(retransmits) retransmissions -> ETIMEDOUT",
                           explanation: "predicted \(DurationText.format(RetransmissionSchedule.retries2Budget(kernel.tcpRetries2))) after the first RTO retransmission; set TCP_USER_TIMEOUT to bound it",
                           extra: [("retransmissions", .int(Int64(retransmits)))])
        }
        if let k = p.keepSchedule {
            let what = k.mechanism == .keepalive ? "TCP keepalive (\(probes) probe\(probes == 1 ? "" : "s") unanswered)"
                : "TCP_USER_TIMEOUT on an idle connection (\(probes) keepalive probe\(probes == 1 ? "" : "s") unanswered)"
            return Outcome(status: .detected, mechanism: k.mechanism, detectedAt: at, predictedAt: p.keepaliveAbort, errno: name,
                           summary: "dead peer detected by \(what) -> ETIMEDOUT", explanation: keepaliveExplanation(k, o, lastRx: s.lastRx),
                           extra: [("keepalive_probes", .int(Int64(probes)))])
        }
        return Outcome(status: .detected, mechanism: ut > 0 ? .userTimeout : .retransmissionLimit, detectedAt: at, errno: name,
                       summary: "the kernel timed the connection out (ETIMEDOUT) with no capture evidence to say which timer")
    }

    func keepaliveExplanation(_ k: KeepaliveSchedule, _ o: DeadPeerSettings, lastRx: Double) -> String {
        let lastRxText = "the last segment from the peer at t=\(DurationText.trimmed(lastRx))s"
        let base = k.mechanism == .keepalive
            ? "predicted \(DurationText.trimmed(k.nominalAbortAt)) s = KEEPIDLE \(o.keepIdle)s + KEEPINTVL \(o.keepIntvl)s x KEEPCNT \(o.keepCnt) after \(lastRxText)"
            : "predicted \(DurationText.trimmed(k.nominalAbortAt)) s after \(lastRxText): TCP_USER_TIMEOUT \(DurationText.format(o.userTimeout)) replaces KEEPCNT (abort at the first probe timer past it, once a probe is out)"
        guard let hz = kernel.hz, k.abortAt - k.nominalAbortAt > 0.0005 else { return base }
        return base + "; the timer wheel (HZ=\(hz)) adds \(DurationText.trimmed((k.abortAt - k.nominalAbortAt) * 1000)) ms"
    }
}
