import Glibc
import ConnDiagCore
import ConnDiagPlatform

/// `--follow`: samples the namespace's sockets every interval, turns what changed on each
/// followed connection into events, picks up the connections the process opens meanwhile
/// (up to `maxFollowed`), and when one disappears from the kernel's tables infers the
/// mechanism from the last sample (and the wire, with `--capture`) beside the prediction.
/// When the process exits, each connection still followed gets that as its outcome.
final class ConnectionFollower {
    let engine: InspectEngine
    let namespace: InspectedNamespace
    let pid: Int32?
    /// Without ptrace rights: new sockets are chosen by the process's uid, as at the start.
    let ownerUID: UInt32?
    var live: [UInt64: InspectedConnection] = [:]
    var order: [UInt64] = []
    var episodes: [UInt64: DeathEpisode] = [:]
    /// Cookies followed or decided against, so a socket is judged once (pruned every
    /// sample to the sockets still there: bounded by the namespace's socket count).
    var known: Set<UInt64> = []
    var nextIndex: Int
    var summary = FollowSummary()
    var wire: FollowCapture?

    init(engine: InspectEngine, namespace: InspectedNamespace, pid: Int32?, connections: [InspectedConnection], ownerUID: UInt32?) {
        self.engine = engine; self.namespace = namespace; self.pid = pid; self.ownerUID = ownerUID
        nextIndex = (connections.map(\.index).max() ?? 0) + 1
        for c in connections {
            known.insert(c.socket.cookie)
            guard ConnectionFollower.followable(c.socket) else { continue }
            if live.count >= engine.config.maxFollowed { summary.notFollowed += 1; continue }
            follow(c)
        }
        if summary.notFollowed > 0 {
            summary.capNote = "follow cap of \(engine.config.maxFollowed) connections: \(summary.notFollowed) connections are not followed"
        }
    }

    /// Sockets in LISTEN, TIME_WAIT or CLOSE cannot die in a way worth reporting.
    static func followable(_ s: SockDiagSocket) -> Bool { s.state != .listen && s.state != .timeWait && s.state != .close }

    func follow(_ c: InspectedConnection) {
        live[c.socket.cookie] = c
        order.append(c.socket.cookie)
    }

    /// Whether following goes on with nothing followed: for --pid while the process lives (it
    /// may open more); for --all only until --for, else it ends when every connection is gone.
    var keepsWatchingWhenEmpty: Bool { isAll ? engine.config.duration != nil : true }

    func run() throws -> FollowSummary {
        let config = engine.config
        let clock = engine.clock
        if config.capture {
            let (capture, note) = FollowCapture.open(in: namespace, timeline: engine.timeline)
            wire = capture
            summary.captureNote = note
            for cookie in order { wire?.add(live[cookie]!, at: clock.now()) }
            wire?.pump()
        }
        let start = clock.now()
        var next = start
        while !live.isEmpty || keepsWatchingWhenEmpty {
            next += config.interval
            if let d = config.duration, next > start + d { _ = engine.wait(until: start + d); break }
            guard engine.wait(until: next) else { break }
            wire?.pump()
            let t0 = clock.now()
            let sockets = try namespace.dump.dumpTCP()
            let t = (t0 + clock.now()) / 2
            // Checked after the dump: alive now means alive during the dump, so a socket gone
            // from it was closed by the process or the kernel, not by the exit.
            let exited = pid.map(ConnectionFollower.processGone) ?? false
            summary.samples += 1
            var byCookie: [UInt64: SockDiagSocket] = [:]
            byCookie.reserveCapacity(sockets.count)
            for s in sockets { byCookie[s.cookie] = s }
            if exited { processExited(at: t, byCookie) }
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
                    var death = ConnectionFollower.death(of: previous, goneAt: t, wire: wire?.track(previous.socket))
                    death.episode = episodes[cookie]
                    gone(cookie, death, at: t)
                }
            }
            order.removeAll { live[$0] == nil }
            if exited && !isAll { break }
            discover(sockets, at: t)
            known = known.filter { byCookie[$0] != nil }
        }
        return summary
    }

    var isAll: Bool { if case .all = engine.config.scope { return true }; return false }

    func gone(_ cookie: UInt64, _ death: ConnectionDeath, at t: Double) {
        summary.deaths.append(death)
        if let c = live[cookie] { wire?.remove(c.socket) }
        live[cookie] = nil
        episodes[cookie] = nil
        engine.timeline.append(Event(t: t, source: .socket, kind: "connection-gone",
                                     detail: "#\(death.connection) \(death.remote): \(death.summaryText)",
                                     fields: [("connection", .int(Int64(death.connection))), ("mechanism", .string(death.mechanism.rawValue))]))
    }

    /// A zombie still answers kill(0): its /proc state says it is gone.
    static func processGone(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        guard let stat = readSmallFile("/proc/\(pid)/stat", limit: 1024), let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].dropFirst().first
        return state == "Z" || state == "X"
    }

    /// The process exited: the kernel closed its descriptors. Each connection it held that is
    /// still followed gets that as its outcome, with what the kernel sent if it can be seen:
    /// on the wire (--capture), else from the socket's state now (FIN_WAIT1/2, CLOSING,
    /// LAST_ACK, TIME_WAIT: a FIN), else from its last sample (unread data: an RST).
    func processExited(at t: Double, _ byCookie: [UInt64: SockDiagSocket]) {
        summary.processExitedAt = t
        engine.timeline.append(Event(t: t, source: .app, kind: "process-exited",
                                     detail: "process \(pid!) exited; the kernel closes its sockets" + (isAll ? "" : "; following stops")))
        // Closing a socket sends its FIN or RST at once: let the capture deliver them.
        wire?.drain(for: 0.05)
        for cookie in order {
            guard let c = live[cookie], !isAll || c.owner?.pid == pid else { continue }
            let close = ConnectionFollower.exitClose(of: c, now: byCookie[cookie], exitedAt: t, wire: wire?.track(c.socket))
            var death = ConnectionDeath(connection: c.index, local: c.socket.local, remote: c.socket.remote, lastSeenAt: c.sampledAt, goneAt: t,
                                        status: .closed, mechanism: .none, evidence: close.evidence,
                                        predictedAt: nil, predictedMechanism: c.prediction.mechanism)
            death.processExit = close
            if let w = close.wireAt { death.wireAt = w }
            gone(cookie, death, at: t)
        }
    }

    static func exitClose(of c: InspectedConnection, now: SockDiagSocket?, exitedAt t: Double, wire: WireTrack?) -> ProcessExitClose {
        let finStates: Set<TCPState> = [.finWait1, .finWait2, .closing, .lastAck, .timeWait]
        if let sent = wire?.sent, sent.t >= c.sampledAt - 0.001 {
            return ProcessExitClose(exitedAt: t, kernelSent: sent.kind, wireAt: sent.t,
                                    evidence: "the kernel sent \(sent.kind) at \(DurationText.trimmed(sent.t)) s (capture)")
        }
        // In FIN_WAIT1 the send queue (write_seq - snd_una) counts the FIN itself while it is
        // unacknowledged, so 1 there is a FIN sent and not yet acknowledged. Unsent bytes
        // (tcp_info's notsent_bytes, or more than the FIN in the queue when the kernel gives
        // no notsent) hold the FIN back: it is not on the wire yet (a closed window holds it).
        if let s = now, s.state == .finWait1 {
            let unsent = s.info?.notSentBytes.map(Int.init) ?? max(0, Int(s.sendQueue) - 1)
            if unsent > 0 {
                return ProcessExitClose(exitedAt: t, kernelSent: "FIN queued", wireAt: nil,
                                        evidence: "the kernel queued a FIN behind \(unsent) unsent bytes (the socket is now FIN_WAIT1)")
            }
        }
        if let s = now, finStates.contains(s.state) {
            return ProcessExitClose(exitedAt: t, kernelSent: "FIN", wireAt: nil, evidence: "the kernel sent FIN (the socket is now \(s.state))")
        }
        if c.socket.receiveQueue > 0 {
            return ProcessExitClose(exitedAt: t, kernelSent: "RST", wireAt: nil,
                                    evidence: "the kernel sent RST (\(c.socket.receiveQueue) bytes were unread in its receive queue; the socket is gone)")
        }
        return ProcessExitClose(exitedAt: t, kernelSent: nil, wireAt: nil,
                                evidence: "FIN or RST not seen: the socket was gone by the next sample" + (wire == nil ? " (no capture)" : ""))
    }

    /// New sockets of the process (or, with --all, of the namespace) that match the filters:
    /// each becomes a followed connection with its options read and a prediction, up to the cap.
    func discover(_ sockets: [SockDiagSocket], at t: Double) {
        let config = engine.config
        let candidates = sockets.filter { !known.contains($0.cookie) && ConnectionFollower.followable($0) && config.matches($0) }
        guard !candidates.isEmpty else { return }
        for s in candidates { known.insert(s.cookie) }
        var chosen: [(SockDiagSocket, SocketOwner?)] = []
        switch config.scope {
        case .process(let p):
            if let uid = ownerUID {
                chosen = candidates.filter { $0.uid == uid }.map { ($0, nil) }
            } else if case .sockets(let fds) = SocketOwnership.table(of: p) {
                let name = SocketOwnership.command(of: p)
                chosen = candidates.compactMap { s in fds[s.inode].map { (s, SocketOwner(pid: p, fd: $0, command: name)) } }
            }
        case .all:
            let found = SocketOwnership.owners(of: Set(candidates.map(\.inode).filter { $0 != 0 }))
            chosen = candidates.map { ($0, found.owners[$0.inode]) }
        }
        for (s, owner) in chosen {
            guard live.count < config.maxFollowed else {
                summary.notFollowed += 1
                if summary.capReachedAt == nil {
                    summary.capReachedAt = t
                    summary.capNote = "follow cap of \(config.maxFollowed) connections reached at \(DurationText.trimmed(t)) s: later connections are not followed"
                    engine.timeline.append(Event(t: t, source: .app, kind: "follow-cap", detail: summary.capNote!))
                }
                continue
            }
            let c = engine.connection(index: nextIndex, socket: s, owner: owner, denied: ownerUID != nil, kernel: namespace.kernel, sampledAt: t)
            nextIndex += 1
            follow(c)
            summary.newConnections.append(c)
            wire?.add(c, at: t)
            engine.timeline.append(Event(t: t, source: .socket, kind: "connection-new",
                                         detail: "#\(c.index) new connection \(s.local) -> \(s.remote) \(s.state): \(c.prediction.explanation)",
                                         fields: [("connection", .int(Int64(c.index))), ("local", .string(s.local)), ("remote", .string(s.remote)),
                                                  ("state", .string(s.state.description))]))
            trackEpisode(s.cookie, c)
        }
    }

    /// A trouble episode starts at the first sample with a probe out or an RTO backoff, and
    /// ends when the counters return to zero (the peer answered). Zero-window probing is
    /// trouble once a probe goes unanswered (the backoff grows while the peer answers), or
    /// from the start with TCP_USER_TIMEOUT: Linux then aborts UT after the first probe
    /// even while the peer answers every one.
    func trackEpisode(_ cookie: UInt64, _ c: InspectedConnection) {
        guard let info = c.socket.info else { return }
        let userTimeout = (c.options.options?.userTimeoutMs ?? 0) > 0
        let troubled = c.socket.timer == .zeroWindowProbe ? info.probes > 0 || userTimeout
            : info.probes > 0 || info.backoff > 0 || (c.socket.state == .synSent && info.retransmits > 0)
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
        let zeroWindow = s.timer == .zeroWindowProbe
        if ni.probes > oi.probes {
            let kind: EventKind = zeroWindow ? .zeroWindowProbe : .keepaliveProbe
            event(kind, "\(zeroWindow ? "zero-window " : "")probe #\(ni.probes) unanswered", [("probes", .int(Int64(ni.probes)))])
        } else if ni.probes < oi.probes {
            event(.keepaliveAck, "probes answered (probes out \(oi.probes) -> \(ni.probes))")
        }
        // The zero-window timer backs off with every probe, answered or not: not a retransmission.
        if zeroWindow { return }
        if ni.backoff > oi.backoff {
            event(.retransmit, "RTO retransmission #\(ni.backoff), RTO now \(DurationText.elapsed(ni.rto))",
                  [("backoff", .int(Int64(ni.backoff))), ("rto_ms", .int(Int64(ni.rtoMicros / 1000)))])
        } else if ni.totalRetransmits > oi.totalRetransmits {
            event(.retransmit, "retransmission (total \(ni.totalRetransmits))", [("total_retrans", .int(Int64(ni.totalRetransmits)))])
        }
    }

    /// The outcome of a connection gone between its last sample and `goneAt`, inferred from
    /// that last sample (which timer was running and how far it had got) and, with a
    /// capture, from the wire: the kernel's RST on a keepalive abort dates the death; a
    /// peer's RST or FIN or an ICMP error explains a death no timer does.
    static func death(of c: InspectedConnection, goneAt: Double, wire: WireTrack? = nil) -> ConnectionDeath {
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
            evidence = "zero-window probe timer with \(s.timerRetransmits) probes unanswered, backoff \(info?.backoff ?? 0)"
        } else if let r = wire?.received, r.t >= c.sampledAt - 0.001 {
            mechanism = r.kind == "RST" ? .peerRst : .peerFin
            status = r.kind == "RST" ? .detected : .closed
            evidence = "the peer sent \(r.kind) at \(DurationText.trimmed(r.t)) s (capture)"
        } else if let icmp = wire?.icmp.last, icmp.t >= c.sampledAt - 0.001, icmp.facts.errnoName != nil {
            mechanism = .icmp
            evidence = "\(icmp.facts.name) from \(icmp.facts.from) at \(DurationText.trimmed(icmp.t)) s (capture)"
        } else {
            status = .closed; mechanism = .none
            evidence = "closed from \(s.state) with no give-up timer running (closed by the application or reset)"
        }
        var death = ConnectionDeath(connection: c.index, local: s.local, remote: s.remote, lastSeenAt: c.sampledAt, goneAt: goneAt,
                                    status: status, mechanism: mechanism, evidence: evidence,
                                    predictedAt: c.predictedDeathAt, predictedMechanism: c.prediction.mechanism)
        if let w = wire {
            // What the kernel itself sent when it gave up (keepalive aborts with an RST).
            if let sent = w.sent, sent.t >= c.sampledAt - 0.001 && sent.t <= goneAt {
                death.evidence += "; the kernel sent \(sent.kind) at \(DurationText.trimmed(sent.t)) s (capture)"
                if mechanism == .keepalive || mechanism == .userTimeout { death.wireAt = sent.t }
            } else if status != .closed {
                death.evidence += "; nothing sent on the wire when it gave up (capture)"
            }
            if let r = w.received, r.t >= c.sampledAt - 0.001, mechanism != .peerRst && mechanism != .peerFin {
                death.evidence += "; the peer sent \(r.kind) at \(DurationText.trimmed(r.t)) s"
            }
        }
        return death
    }
}

extension ConnectionDeath {
    /// "dead by keepalive at 3.012 s (predicted 3.000 s, +12 ms)".
    public var summaryText: String {
        if let x = processExit {
            return "process exited at \(DurationText.trimmed(x.exitedAt)) s; the kernel closed its sockets: \(x.evidence)"
        }
        var text = status == .closed ? "closed at \(DurationText.trimmed(diedAt)) s" : "dead by \(mechanism.rawValue) at \(DurationText.trimmed(diedAt)) s"
        if let e = episode, status != .closed {
            text += " (predicted \(DurationText.trimmed(e.predictedAt)) s by \(e.mechanism.rawValue) at \(DurationText.trimmed(e.startedAt)) s, \(DurationText.signedMilliseconds(diedAt - e.predictedAt)))"
        } else if let p = predictedAt, status != .closed {
            text += " (predicted \(DurationText.trimmed(p)) s by \(predictedMechanism.rawValue), \(DurationText.signedMilliseconds(diedAt - p)))"
        }
        return text + "; " + evidence
    }
}
