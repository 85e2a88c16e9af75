import Glibc
import ConnDiagCore
import ConnDiagPlatform

/// `--follow`: samples the namespace's sockets every interval, turns what changed on each
/// followed connection into events, and when one disappears from the kernel's tables,
/// infers the mechanism from the last sample and sets it beside the prediction made then.
final class ConnectionFollower {
    let engine: InspectEngine
    let namespace: InspectedNamespace
    let pid: Int32?
    var live: [UInt64: InspectedConnection] = [:]
    var order: [UInt64] = []
    var episodes: [UInt64: DeathEpisode] = [:]

    init(engine: InspectEngine, namespace: InspectedNamespace, pid: Int32?, connections: [InspectedConnection]) {
        self.engine = engine; self.namespace = namespace; self.pid = pid
        // Sockets without a cookie or in TIME_WAIT cannot die in a way worth reporting.
        for c in connections where c.socket.state != .listen && c.socket.state != .timeWait {
            live[c.socket.cookie] = c
            order.append(c.socket.cookie)
        }
    }

    func run() throws -> FollowSummary {
        var summary = FollowSummary()
        let config = engine.config
        let clock = engine.clock
        let start = clock.now()
        var next = start
        while !live.isEmpty {
            next += config.interval
            if let d = config.duration, next > start + d { _ = engine.wait(until: start + d); break }
            guard engine.wait(until: next) else { break }
            let t0 = clock.now()
            let sockets = try namespace.dump.dumpTCP()
            let t = (t0 + clock.now()) / 2
            summary.samples += 1
            var byCookie: [UInt64: SockDiagSocket] = [:]
            for s in sockets where live[s.cookie] != nil { byCookie[s.cookie] = s }
            for cookie in order {
                guard let previous = live[cookie] else { continue }
                if let now = byCookie[cookie], now.state != .close {
                    emitChanges(from: previous, to: now, at: t)
                    var updated = previous
                    updated.socket = now
                    updated.prediction = DeathPrediction.predict(now, options: previous.options.options, kernel: namespace.kernel)
                    updated.sampledAt = t
                    live[cookie] = updated
                    trackEpisode(cookie, updated)
                } else {
                    var death = ConnectionFollower.death(of: previous, goneAt: t)
                    death.episode = episodes[cookie]
                    summary.deaths.append(death)
                    live[cookie] = nil
                    engine.timeline.append(Event(t: t, source: .socket, kind: "connection-gone",
                                                 detail: "#\(previous.index) \(previous.socket.remote): \(death.summaryText)",
                                                 fields: [("connection", .int(Int64(previous.index))), ("mechanism", .string(death.mechanism.rawValue))]))
                }
            }
            if let pid, kill(pid, 0) != 0 && errno == ESRCH {
                summary.processExitedAt = t
                engine.timeline.append(Event(t: t, source: .app, kind: "process-exited", detail: "process \(pid) exited; following stops"))
                break
            }
        }
        return summary
    }

    /// A trouble episode starts at the first sample with a probe out or an RTO backoff, and
    /// ends when the counters return to zero (the peer answered).
    func trackEpisode(_ cookie: UInt64, _ c: InspectedConnection) {
        guard let info = c.socket.info else { return }
        let troubled = info.probes > 0 || info.backoff > 0 || (c.socket.state == .synSent && info.retransmits > 0)
        if !troubled { episodes[cookie] = nil; return }
        if episodes[cookie] == nil, let at = c.predictedDeathAt {
            episodes[cookie] = DeathEpisode(startedAt: c.sampledAt, predictedAt: at, mechanism: c.prediction.mechanism)
        }
    }

    /// Events for what changed between two samples of one connection.
    func emitChanges(from a: InspectedConnection, to s: SockDiagSocket, at t: Double) {
        let n = a.index
        func event(_ kind: EventKind, _ detail: String, _ extra: [(String, JSONValue)] = []) {
            engine.timeline.append(Event(t: t, source: .socket, kind: kind, detail: "#\(n) \(detail)",
                                         fields: [("connection", .int(Int64(n)))] + extra))
        }
        let old = a.socket
        if old.state != s.state { event("state-change", "\(old.state) -> \(s.state)", [("state", .string(s.state.description))]) }
        if old.timer != s.timer { event("timer", "timer \(old.timer) -> \(s.timer) (fires in \(s.expiresMs) ms)", [("timer", .string(s.timer.description))]) }
        guard let oi = old.info, let ni = s.info else { return }
        if ni.probes > oi.probes {
            let kind: EventKind = s.timer == .zeroWindowProbe ? .zeroWindowProbe : .keepaliveProbe
            event(kind, "probe #\(ni.probes) unanswered", [("probes", .int(Int64(ni.probes)))])
        } else if ni.probes < oi.probes {
            event(.keepaliveAck, "probes answered (probes out \(oi.probes) -> \(ni.probes))")
        }
        if ni.backoff > oi.backoff {
            event(.retransmit, "RTO retransmission #\(ni.backoff), RTO now \(DurationText.elapsed(ni.rto))",
                  [("backoff", .int(Int64(ni.backoff))), ("rto_ms", .int(Int64(ni.rtoMicros / 1000)))])
        } else if ni.totalRetransmits > oi.totalRetransmits {
            event(.retransmit, "retransmission (total \(ni.totalRetransmits))", [("total_retrans", .int(Int64(ni.totalRetransmits)))])
        }
    }

    /// The outcome of a connection gone between its last sample and `goneAt`, inferred from
    /// that last sample: which timer was running and how far it had got.
    static func death(of c: InspectedConnection, goneAt: Double) -> ConnectionDeath {
        let s = c.socket
        let o = c.options.options
        let ut = o?.userTimeoutMs ?? 0
        var status = OutcomeStatus.detected
        var mechanism: Mechanism
        var evidence: String
        let info = s.info
        if s.state == .synSent {
            status = .timeout; mechanism = .synRetriesExhausted
            evidence = "SYN_SENT with \(info?.retransmits ?? 0) SYN retransmissions"
        } else if s.timer == .keepalive, let i = info, i.probes > 0 {
            let count = o?.keepCount ?? Int.max
            mechanism = ut > 0 && Int(i.probes) < count ? .userTimeout : .keepalive
            evidence = "keepalive timer with \(i.probes) probes unanswered" + (ut > 0 ? ", TCP_USER_TIMEOUT \(ut) ms" : "")
        } else if s.timer == .retransmit, let i = info, i.backoff > 0 {
            mechanism = ut > 0 ? .userTimeout : .retransmissionLimit
            evidence = "retransmit timer after \(i.backoff) RTO retransmissions, \(i.unacked) segments unacked" + (ut > 0 ? ", TCP_USER_TIMEOUT \(ut) ms" : "")
        } else if s.timer == .zeroWindowProbe {
            mechanism = ut > 0 ? .userTimeout : .retransmissionLimit
            evidence = "zero-window probe timer with \(s.timerRetransmits) probes"
        } else {
            status = .closed; mechanism = .none
            evidence = "closed from \(s.state) with no give-up timer running (closed by the application or reset)"
        }
        return ConnectionDeath(connection: c.index, local: s.local, remote: s.remote, lastSeenAt: c.sampledAt, goneAt: goneAt,
                               status: status, mechanism: mechanism, evidence: evidence,
                               predictedAt: c.predictedDeathAt, predictedMechanism: c.prediction.mechanism)
    }
}

extension ConnectionDeath {
    /// "dead by keepalive at 3.012 s (predicted 3.000 s, +12 ms)".
    public var summaryText: String {
        var text = status == .closed ? "closed at \(DurationText.trimmed(diedAt)) s" : "dead by \(mechanism.rawValue) at \(DurationText.trimmed(diedAt)) s"
        if let e = episode, status != .closed {
            text += " (predicted \(DurationText.trimmed(e.predictedAt)) s by \(e.mechanism.rawValue) at \(DurationText.trimmed(e.startedAt)) s, \(DurationText.signedMilliseconds(diedAt - e.predictedAt)))"
        } else if let p = predictedAt, status != .closed {
            text += " (predicted \(DurationText.trimmed(p)) s by \(predictedMechanism.rawValue), \(DurationText.signedMilliseconds(diedAt - p)))"
        }
        return text + "; " + evidence
    }
}
