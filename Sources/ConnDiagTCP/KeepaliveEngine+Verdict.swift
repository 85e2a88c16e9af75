import Glibc
import ConnDiagCore

extension KeepaliveEngine.Watch {
    /// Decides the mechanism from the evidence (errno, unanswered probes, unacknowledged
    /// data, PINGs without ACK), not from the clock, and sets it beside the predictions.
    // swiftlint:disable:next function_body_length cyclomatic_complexity
    mutating func explain(_ c: LiveConnection, established: Double, ended: (at: Double, errno: Int32?, eof: Bool, h2: H2DriverEnd?)?,
                          stopAt: Double, firstRetransmitSampleAt: Double?, writes: Int) -> Outcome {
        let events = timeline.events
        let endAt = ended?.at ?? stopAt
        let opts = c.effective
        let ut = Double(opts.userTimeoutMs) / 1000
        let hz = kernel.hz

        // The last segment the peer sent before the end (keepalive and A8 count from it).
        let lastRx = events.last { $0.source == .wire && $0.direction == .in && $0.kind != .rst && $0.t <= endAt }?.t ?? established
        let probes = events.filter { $0.kind == .keepaliveProbe && $0.t > lastRx && $0.t <= endAt }
        let retransmits = events.filter { $0.kind == .retransmit && $0.t > lastRx && $0.t <= endAt }
        let unackedBefore: Int64 = {
            guard let e = events.last(where: { $0.kind == .tcpInfo && $0.t < endAt }), case .int(let u)? = e.field("unacked") else { return 0 }
            return u
        }()
        let inboundRST = events.last { $0.kind == .rst && $0.direction == .in && $0.t <= endAt + 0.2 }
        let icmp = events.last { $0.kind == .icmpUnreachable && $0.t <= endAt }

        // Predictions from the settings and the sysctls.
        var predictions: [(String, JSONValue)] = []
        var keepaliveAbort: Double?
        var keepSchedule: KeepaliveSchedule?
        if opts.keepalive {
            let k = KeepaliveSchedule(idle: Double(opts.keepIdle), interval: Double(opts.keepIntvl), count: opts.keepCnt, userTimeout: ut, hz: hz)
            keepSchedule = k
            keepaliveAbort = lastRx + k.abortAt
            predictions.append(("keepalive_abort_at", .double(round6(lastRx + k.abortAt))))
            predictions.append(("keepalive_probes_at", .array(k.probes.map { .double(round6(lastRx + $0)) })))
        } else {
            let k = KeepaliveSchedule(idle: Double(opts.keepIdle), interval: Double(opts.keepIntvl), count: opts.keepCnt)
            predictions.append(("keepalive_abort_at", .null))
            predictions.append(("keepalive_note", .string("SO_KEEPALIVE is off; with it on, an idle dead peer would be found \(DurationText.format(k.abortAt)) after the last segment")))
        }
        // rs: the first RTO retransmission (TCP_INFO retransmits turns 1 there; a tail-loss
        // probe before it does not count).
        var rs: Double?
        if let s = firstRetransmitSampleAt {
            rs = retransmits.last(where: { $0.t <= s + 0.001 })?.t ?? s
        } else if let first = retransmits.first {
            rs = retransmits.count > 1 ? retransmits[1].t : first.t
        }
        var rtoAtRS = 0.2
        if let rs, let e = events.last(where: { $0.kind == .tcpInfo && $0.t < rs }), case .double(let r)? = e.field("rto_ms") { rtoAtRS = max(0.2, r / 1000) }
        var utAt: Double?
        var limitAt: Double?
        if let rs {
            predictions.append(("first_rto_retransmission_at", .double(round6(rs))))
            let limit = RetransmissionSchedule(firstRTO: rtoAtRS, retries2: kernel.tcpRetries2, rtoMax: kernel.rtoMax, hz: hz)
            limitAt = rs + limit.giveUpAt
            predictions.append(("retransmission_limit_at", .double(round6(rs + limit.giveUpAt))))
            if ut > 0 {
                let u = RetransmissionSchedule(firstRTO: rtoAtRS, retries2: kernel.tcpRetries2, userTimeout: ut, rtoMax: kernel.rtoMax, hz: hz)
                utAt = rs + u.giveUpAt
                predictions.append(("user_timeout_at", .double(round6(rs + u.giveUpAt))))
            }
        }
        var pingTimeoutAt: Double?
        if let h2 = config.h2Driver, let p = h2.pingPolicy {
            let s = H2PingSchedule(lastRead: h2.lastReadAt, pingTime: p.time, pingTimeout: p.timeout)
            pingTimeoutAt = s.timeoutAt
            predictions.append(("h2_ping_at", .double(round6(s.pingAt))))
            predictions.append(("h2_ping_timeout_at", .double(round6(s.timeoutAt))))
        }
        predictionsJSON = predictions

        let lastRxText = "the last segment from the peer at t=\(DurationText.trimmed(lastRx))s"
        func keepaliveExplanation(_ k: KeepaliveSchedule) -> String {
            let base = k.mechanism == .keepalive
                ? "predicted \(DurationText.trimmed(k.nominalAbortAt)) s = KEEPIDLE \(opts.keepIdle)s + KEEPINTVL \(opts.keepIntvl)s x KEEPCNT \(opts.keepCnt) after \(lastRxText)"
                : "predicted \(DurationText.trimmed(k.nominalAbortAt)) s after \(lastRxText): TCP_USER_TIMEOUT \(DurationText.format(ut)) replaces KEEPCNT (abort at the first probe timer past it, once a probe is out)"
            return base + (hz != nil && k.abortAt - k.nominalAbortAt > 0.0005 ? "; the timer wheel (HZ=\(hz!)) adds \(DurationText.trimmed((k.abortAt - k.nominalAbortAt) * 1000)) ms" : "")
        }

        guard let ended else {
            if interrupted {
                return Outcome(status: .error, mechanism: .none, predictedAt: [keepaliveAbort, utAt, limitAt, pingTimeoutAt].compactMap { $0 }.min(),
                               summary: "interrupted after \(DurationText.format(stopAt - established)) of watching; nothing detected yet")
            }
            // Survived the run: say what is still pending and when it is predicted to fire.
            var pending: (String, Double)?
            if !retransmits.isEmpty || unackedBefore > 0 {
                if let u = utAt { pending = ("still retransmitting; TCP_USER_TIMEOUT gives up at about t=\(DurationText.trimmed(u))s", u) }
                else if let l = limitAt { pending = ("still retransmitting; the kernel gives up at about t=\(DurationText.trimmed(l))s (tcp_retries2=\(kernel.tcpRetries2), \(DurationText.format(l - (rs ?? 0))) after the first RTO retransmission)", l) }
            } else if !probes.isEmpty, let k = keepaliveAbort {
                pending = ("\(probes.count) keepalive probe\(probes.count == 1 ? "" : "s") unanswered; the kernel aborts at about t=\(DurationText.trimmed(k))s", k)
            } else if let k = keepaliveAbort, config.actions.contains(where: { $0.label.contains("cut") }) {
                pending = ("idle; keepalive would find a dead peer at about t=\(DurationText.trimmed(k))s", k)
            }
            let summary = "survived the \(DurationText.format(stopAt - established)) watch" + (pending.map { "; " + $0.0 } ?? "; the connection stayed healthy")
            return Outcome(status: .survived, mechanism: .none, detectedAt: nil, predictedAt: pending?.1, summary: summary,
                           extra: [("retransmissions", .int(Int64(retransmits.count))), ("keepalive_probes", .int(Int64(probes.count)))])
        }

        let at = ended.at
        // HTTP/2 endings.
        if let h = ended.h2 {
            switch h {
            case .pingTimeout(let sentAt):
                let p = config.h2Driver?.pingPolicy
                return Outcome(status: .detected, mechanism: .h2PingTimeout, detectedAt: at, predictedAt: pingTimeoutAt,
                               summary: "dead peer detected by HTTP/2 PING keepalive: the PING sent at t=\(DurationText.trimmed(sentAt))s got no ACK within \(DurationText.format(p?.timeout ?? 0))",
                               explanation: "A8: a PING goes out ping-time \(DurationText.format(p?.time ?? 0)) after the last read (t=\(DurationText.trimmed(config.h2Driver?.lastReadAt ?? 0))s); no ACK within ping-timeout closes the connection"
                                + (retransmits.isEmpty ? "" : "\nmeanwhile the kernel was retransmitting (\(retransmits.count) so far)" + (ut > 0 ? "" : " and, with no TCP_USER_TIMEOUT, would only give up at t=\(limitAt.map { DurationText.trimmed($0) } ?? "?")s")),
                               extra: [("pings_sent", .int(Int64(config.h2Driver?.pingsSent ?? 0)))])
            case .eof:
                return closedByPeer(fin: true, at: at, rst: inboundRST)
            case .error(let e):
                if e == ECONNRESET || e == EPIPE { return closedByPeer(fin: false, at: at, rst: inboundRST) }
                return kernelEnd(errno: e, at: at, lastRx: lastRx, probes: probes.count, retransmits: retransmits.count, unacked: unackedBefore,
                                 keep: keepSchedule, keepAt: keepaliveAbort, utAt: utAt, limitAt: limitAt, rs: rs, icmp: icmp, ut: ut, lastRxText: lastRxText,
                                 keepaliveExplanation: keepaliveExplanation)
            case .protocolError(let why):
                return Outcome(status: .error, mechanism: .none, detectedAt: at, summary: "HTTP/2 protocol error: \(why)")
            }
        }
        if ended.eof { return closedByPeer(fin: true, at: at, rst: inboundRST) }
        let e = ended.errno ?? EIO
        if e == ECONNRESET || e == EPIPE { return closedByPeer(fin: false, at: at, rst: inboundRST) }
        return kernelEnd(errno: e, at: at, lastRx: lastRx, probes: probes.count, retransmits: retransmits.count, unacked: unackedBefore,
                         keep: keepSchedule, keepAt: keepaliveAbort, utAt: utAt, limitAt: limitAt, rs: rs, icmp: icmp, ut: ut, lastRxText: lastRxText,
                         keepaliveExplanation: keepaliveExplanation)
    }

    func closedByPeer(fin: Bool, at: Double, rst: Event?) -> Outcome {
        if fin {
            let finEvent = timeline.events.last { $0.kind == .fin && $0.direction == .in }
            return Outcome(status: .closed, mechanism: .peerFin, detectedAt: at, predictedAt: finEvent?.t,
                           summary: "the peer closed the connection with FIN; read() returned EOF",
                           explanation: finEvent.map { "FIN on the wire at t=\(DurationText.trimmed($0.t))s; the application saw it \(DurationText.elapsed(max(0, at - $0.t))) later" })
        }
        return Outcome(status: .closed, mechanism: .peerRst, detectedAt: at, predictedAt: rst?.t, errno: "ECONNRESET",
                       summary: "the peer reset the connection (RST) -> ECONNRESET",
                       explanation: rst.map { "RST on the wire at t=\(DurationText.trimmed($0.t))s; detection is immediate, nothing to wait for" })
    }

    // swiftlint:disable:next function_parameter_count
    func kernelEnd(errno e: Int32, at: Double, lastRx: Double, probes: Int, retransmits: Int, unacked: Int64, keep: KeepaliveSchedule?,
                   keepAt: Double?, utAt: Double?, limitAt: Double?, rs: Double?, icmp: Event?, ut: Double, lastRxText: String,
                   keepaliveExplanation: (KeepaliveSchedule) -> String) -> Outcome {
        let name = ErrnoName.name(e)
        if let icmp, e != ETIMEDOUT {
            return Outcome(status: .detected, mechanism: .icmp, detectedAt: at, predictedAt: icmp.t, errno: name,
                           summary: "\(icmp.detail) -> \(name)")
        }
        guard e == ETIMEDOUT else {
            return Outcome(status: .error, mechanism: .none, detectedAt: at, errno: name, summary: "the socket failed: \(ErrnoName.message(e)) (\(name))")
        }
        let unackedData = retransmits > 0 || unacked > 0
        if unackedData {
            if ut > 0 {
                var why = "predicted at the first RTO retransmission (t=\(rs.map { DurationText.trimmed($0) } ?? "?")s) + TCP_USER_TIMEOUT \(DurationText.format(ut)); keepalive does not apply while data is unacknowledged"
                var extra: [(String, JSONValue)] = [("retransmissions", .int(Int64(retransmits)))]
                if let h2 = config.h2Driver, let p = h2.pingPolicy {
                    // The busy-connection case: every read reset the A8 PING timer.
                    extra.append(("pings_sent", .int(Int64(h2.pingsSent))))
                    why += "\n\(h2.pingsSent) HTTP/2 PING\(h2.pingsSent == 1 ? "" : "s") sent: the PING timer counts from the last read (t=\(DurationText.trimmed(h2.lastReadAt))s), so the first PING was due at t=\(DurationText.trimmed(h2.lastReadAt + p.time))s; TCP_USER_TIMEOUT found the dead peer first"
                }
                return Outcome(status: .detected, mechanism: .userTimeout, detectedAt: at, predictedAt: utAt, errno: name,
                               summary: "dead peer detected by TCP_USER_TIMEOUT: \(retransmits) retransmissions unacknowledged -> ETIMEDOUT",
                               explanation: why, extra: extra)
            }
            return Outcome(status: .detected, mechanism: .retransmissionLimit, detectedAt: at, predictedAt: limitAt, errno: name,
                           summary: "dead peer detected by the retransmission limit (tcp_retries2=\(kernel.tcpRetries2)) after \(retransmits) retransmissions -> ETIMEDOUT",
                           explanation: "predicted \(DurationText.format(RetransmissionSchedule.retries2Budget(kernel.tcpRetries2))) after the first RTO retransmission; set TCP_USER_TIMEOUT to bound it",
                           extra: [("retransmissions", .int(Int64(retransmits)))])
        }
        if let k = keep {
            let mech: Mechanism = k.mechanism
            let what = mech == .keepalive ? "TCP keepalive (\(probes) probe\(probes == 1 ? "" : "s") unanswered)"
                : "TCP_USER_TIMEOUT on an idle connection (\(probes) keepalive probe\(probes == 1 ? "" : "s") unanswered)"
            return Outcome(status: .detected, mechanism: mech, detectedAt: at, predictedAt: keepAt, errno: name,
                           summary: "dead peer detected by \(what) -> ETIMEDOUT", explanation: keepaliveExplanation(k),
                           extra: [("keepalive_probes", .int(Int64(probes)))])
        }
        return Outcome(status: .detected, mechanism: ut > 0 ? .userTimeout : .retransmissionLimit, detectedAt: at, errno: name,
                       summary: "the kernel timed the connection out (ETIMEDOUT) with no capture evidence to say which timer")
    }
}
