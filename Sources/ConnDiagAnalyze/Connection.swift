import ConnDiagCore
import ConnDiagPacket

/// One TCP connection in a capture, followed both ways. Side 0 is the client, side 1 the
/// server (see `AnalyzeEngine.chooseClient`). Per packet it updates plain counters in
/// place and builds an event only for what matters (handshake, retransmissions, probes,
/// windows, closes, gaps), so a bulk transfer costs no allocation per packet.
final class Connection {
    let index: Int
    let key: ConnectionKey
    /// Inline (no array): a packet updates its side in place with no uniqueness check.
    var sides: Pair<TCPSide>
    /// How the client side was chosen: "syn", "syn-ack", "port", "lower-port", "preface".
    var clientChosenBy: String
    let midConnection: Bool
    let firstAt: Double
    var lastAt: Double
    var packets = 0

    var events: [Event] = []
    var omittedEvents = 0
    let eventCap: Int
    var notes: [String] = []

    /// When the connection ended on the wire (RST, or the second FIN), if it did.
    var closedAt: Double?
    var icmpErrors: [(t: Double, text: String, errno: String?)] = []
    var evicted = false
    var finalized = false

    var h2: H2Session?
    /// Per-direction byte-stream reassembly for the HTTP/2 decoder.
    var streams = Pair(ByteStream(), ByteStream())
    /// Payload segments inspected for HTTP/2 frame shapes (mid-connection detection).
    var h2SniffBudget = 24
    var h2Candidate: Bool
    /// `--http2-port` names this connection's server port.
    var forcedHTTP2 = false
    var stallThreshold = 5.0
    var holdBudget = HoldBudget()
    var runBudget = RunBudget(maxEventsPerConnection: 300)

    init(index: Int, key: ConnectionKey, client: Endpoint, server: Endpoint, clientChosenBy: String,
         midConnection: Bool, at t: Double, eventCap: Int, h2Candidate: Bool) {
        self.index = index; self.key = key
        sides = Pair(TCPSide(endpoint: client), TCPSide(endpoint: server))
        clientEndpoint = client
        self.clientChosenBy = clientChosenBy
        self.midConnection = midConnection
        firstAt = t; lastAt = t
        self.eventCap = eventCap
        self.h2Candidate = h2Candidate
    }

    /// The client's endpoint (side 0), kept beside its record for the per-packet lookup.
    let clientEndpoint: Endpoint
    var client: Endpoint { clientEndpoint }
    var server: Endpoint { sides[1].endpoint }
    static func name(_ side: Int) -> String { side == 0 ? "client" : "server" }

    // MARK: - Events

    /// True when an event of this weight would be kept (check before building one).
    @inline(__always)
    func wants(important: Bool) -> Bool {
        if events.count < eventCap && (important || runBudget.routineEventsLeft) { return true }
        if important && events.count < eventCap + eventCap / 2 { return true }
        omittedEvents += 1
        return false
    }

    /// False when no event at all would be kept any more (the important allowance is used
    /// up too), so nothing needs preparing for one.
    var mayKeep: Bool { events.count < eventCap + eventCap / 2 }

    /// True when a routine event would be kept now.
    var wouldKeepRoutine: Bool { events.count < eventCap && runBudget.routineEventsLeft }

    func record(_ e: Event) {
        events.append(e)
        runBudget.events += 1
    }

    func dir(_ side: Int) -> Direction { side == 0 ? .out : .in }

    // MARK: - Segments

    func observe(_ s: TCPSegment, from side: Int, at t: Double, bytes: UnsafeRawBufferPointer, truncated: Bool) {
        packets += 1
        lastAt = t
        let other = 1 - side
        // The two side records, fetched once (each `sides[i]` costs a retain/release).
        let me = sides[side], peer = sides[other]
        me.packets += 1
        if me.firstAt == nil { me.firstAt = t }
        me.lastAt = t
        let flags = s.flags
        let len = s.payloadLength

        if flags.contains(.rst) { observeRST(s, side: side, at: t); return }
        if flags.contains(.syn) { observeSYN(s, side: side, at: t); return }

        if me.sndNxt == nil {
            me.sndNxt = s.sequence
            me.isn = s.sequence &- 1
        }
        let nxt = me.sndNxt!
        let end = s.sequence &+ UInt32(truncatingIfNeeded: len) &+ (flags.contains(.fin) ? 1 : 0)

        // The ACK field first: it may answer probes or end a retransmission episode.
        if flags.contains(.ack) { observeACK(s, side: side, me, peer, at: t) }
        observeWindow(s, side: side, me, at: t)

        let peerAck = peer.ackSent
        if midConnection && len == 0 && flags == .ack && s.sequence == nxt && me.probesTotal == 0 && me.payloadBytes == 0,
           let prev = me.lastPureACK, prev.seq == s.sequence, prev.ack == s.acknowledgment, t - prev.t >= 0.5,
           (peer.lastAt ?? -1) < prev.t {
            // Mid-connection: the same pure ACK again and again with no answer is a probe run
            // (seq = snd_nxt - 1); the first of them is a probe too.
            me.sndNxt = s.sequence &+ 1
            observeProbe(s, side: side, at: prev.t)
            observeProbe(s, side: side, at: t)
            return
        }
        if len == 0 && flags == .ack { me.lastPureACK = (s.sequence, s.acknowledgment, t) }
        if len <= 1 && !flags.contains(.fin) && s.sequence == nxt &- 1 && (len == 0 || peerAck == nxt) {
            observeProbe(s, side: side, at: t)
            return
        }
        if len > 0 || flags.contains(.fin) {
            if seqLess(s.sequence, nxt) {
                if !flags.contains(.fin) || me.finSeq == nil || s.sequence != me.finSeq {
                    observeRetransmission(s, side: side, at: t)
                }
                // A retransmission can fill a hole the capture saw open.
                if let hs = me.holeStart, seqLessOrEqual(s.sequence, hs), seqLess(hs, end) {
                    me.holeStart = seqLess(end, me.holeEnd!) ? end : nil
                    if me.holeStart == nil { me.holeEnd = nil }
                }
            } else {
                if seqLess(nxt, s.sequence) { observeJump(from: nxt, to: s.sequence, side: side, at: t) }
                if me.unacked(peerAck: peerAck) == 0 { me.oldestUnackedAt = t }
                me.lastNewDataAt = t
                me.episodeSeq = nil
                me.episodeTimes.removeAll(keepingCapacity: true)
                me.probesUnanswered = 0
                me.probeTimes.removeAll(keepingCapacity: true)
            }
            if seqLess(me.sndNxt!, end) { me.sndNxt = end }
            if len > 0 {
                me.payloadBytes += len
                me.lastDataAt = t
                if s.capturedPayloadLength < len { me.snaplenCut += 1 }
                deliver(s, side: side, at: t, bytes: bytes)
            }
            if flags.contains(.fin) && me.finAt == nil { observeFIN(s, side: side, at: t) }
        }
    }

    private func observeSYN(_ s: TCPSegment, side: Int, at t: Double) {
        var me = sides[side]
        let isSynAck = s.flags.contains(.ack)
        if me.isn == nil || me.synCount == 0 { me.isn = s.sequence; me.sndNxt = s.sequence &+ 1 }
        me.synCount += 1
        if me.synTimes.count < 64 { me.synTimes.append(t) }
        if let w = s.options.windowScale { me.windowScale = w }
        me.lastWindow = Int(s.window)
        let n = me.synCount - 1
        if isSynAck {
            if me.synAckAt == nil { me.synAckAt = t }
            me.ackSent = s.acknowledgment
        }
        sides[side] = me
        guard wants(important: true) else { return }
        var f: [(String, JSONValue)] = [("seq", .int(Int64(s.sequence))), ("len", .int(Int64(s.payloadLength))),
                                        ("flags", .string(s.flags.description)), ("window", .int(Int64(s.window)))]
        var opts: [String] = []
        if let m = s.options.mss { f.append(("mss", .int(Int64(m)))); opts.append("mss \(m)") }
        if let w = s.options.windowScale { opts.append("wscale \(w)") }
        if s.options.sackPermitted { opts.append("sackOK") }
        let optText = opts.isEmpty ? "" : " [\(opts.joined(separator: ","))]"
        if isSynAck {
            var detail = n == 0 ? "SYN-ACK from the server" : "SYN-ACK retransmission #\(n)"
            if n == 0, let last = sides[1 - side].synTimes.last {
                let rtt = t - last
                f.append(("rtt_ms", .double((rtt * 1e6).rounded() / 1e3)))
                detail += ", handshake RTT \(DurationText.elapsed(rtt))"
            }
            record(Event(t: t, source: .wire, kind: n == 0 ? .synAck : "syn-ack-retransmit", direction: dir(side), detail: detail + optText, fields: f))
        } else if n == 0 {
            record(Event(t: t, source: .wire, kind: .syn, direction: dir(side), detail: "SYN seq=\(s.sequence)\(optText)", fields: f))
        } else {
            let times = sides[side].synTimes
            let gap = times.count >= 2 ? t - times[times.count - 2] : 0
            f.append(("retransmission", .int(Int64(n))))
            f.append(("interval_s", .double(round6(gap))))
            record(Event(t: t, source: .wire, kind: .synRetransmit, direction: dir(side),
                         detail: "SYN retransmission #\(n), \(DurationText.elapsed(gap)) after the previous, \(DurationText.elapsed(t - times[0])) after the first", fields: f))
        }
    }

    private func observeRST(_ s: TCPSegment, side: Int, at t: Double) {
        let first = sides[side].rstAt == nil && sides[1 - side].rstAt == nil
        if sides[side].rstAt == nil { sides[side].rstAt = t }
        if closedAt == nil { closedAt = t }
        guard wants(important: true) else { return }
        let who = Connection.name(side)
        var detail = "RST from the \(who)"
        if side == 1 && sides[1].synAckAt == nil && sides[0].synCount > 0 { detail += " in answer to the SYN (nothing listens on port \(server.port))" }
        else if !first { detail += " (after the connection was already reset)" }
        else if sides[side].probesUnanswered > 0 { detail += " after \(sides[side].probesUnanswered) unanswered keepalive probes" }
        record(Event(t: t, source: .wire, kind: .rst, direction: dir(side), detail: detail,
                     fields: [("seq", .int(Int64(s.sequence))), ("flags", .string(s.flags.description))]))
    }

    private func observeFIN(_ s: TCPSegment, side: Int, at t: Double) {
        sides[side].finAt = t
        sides[side].finSeq = s.sequence &+ UInt32(truncatingIfNeeded: s.payloadLength)
        if sides[1 - side].finAt != nil && closedAt == nil { closedAt = t }
        guard wants(important: true) else { return }
        let unacked = sides[side].unacked(peerAck: sides[1 - side].ackSent)
        record(Event(t: t, source: .wire, kind: .fin, direction: dir(side),
                     detail: "FIN from the \(Connection.name(side))" + (sides[1 - side].finAt != nil ? " (answering the \(Connection.name(1 - side))'s FIN)" : "")
                        + (unacked > s.payloadLength + 1 ? " with \(unacked) bytes unacknowledged" : ""),
                     fields: [("seq", .int(Int64(s.sequence))), ("flags", .string(s.flags.description))]))
    }

    private func observeACK(_ s: TCPSegment, side: Int, _ me: TCPSide, _ peer: TCPSide, at t: Double) {
        let other = 1 - side
        let ack = s.acknowledgment
        guard let prev = me.ackSent else { me.ackSent = ack; return }
        if seqLess(prev, ack) {
            me.ackSent = ack
            me.dupAckRun = 0
            // Progress for the other side: its retransmissions worked, its probes were answered.
            if let e = peer.episodeSeq, seqLess(e, ack) {
                peer.longestEpisode = max(peer.longestEpisode, peer.episodeTimes.count)
                peer.episodeSeq = nil
                peer.episodeTimes.removeAll(keepingCapacity: true)
            }
            peer.oldestUnackedAt = peer.unacked(peerAck: ack) > 0 ? t : nil
            answerProbes(side: side, at: t)
            // An ACK beyond a hole the capture never saw filled: the capture missed those bytes.
            if let hs = peer.holeStart, let he = peer.holeEnd, seqLessOrEqual(he, ack) {
                confirmMissed(side: other, from: hs, to: he, at: t, why: "the \(Connection.name(side)) acknowledged them")
            }
            return
        }
        guard ack == prev, s.payloadLength == 0, !s.flags.contains(.fin) else { return }
        if peer.probesUnanswered > 0, ack == peer.sndNxt {
            answerProbes(side: side, at: t)
            return
        }
        // A duplicate ACK: same ack while the other side has data outstanding, same window.
        guard peer.unacked(peerAck: ack) > 0, Int(s.window) == me.lastWindow else { return }
        me.dupAckRun += 1
        me.dupAcks += 1
        if me.dupAckRun == 3, wants(important: false) {
            record(Event(t: t, source: .wire, kind: "dup-ack", direction: dir(side),
                         detail: "3 duplicate ACKs from the \(Connection.name(side)) (ack=\(peer.relative(ack))): a segment from the \(Connection.name(other)) was lost",
                         fields: [("ack", .int(Int64(ack))), ("count", .int(3))]))
        }
    }

    private func answerProbes(side: Int, at t: Double) {
        let other = 1 - side
        guard sides[other].probesUnanswered > 0 else { return }
        let n = sides[other].probesUnanswered
        sides[other].probesAnswered += n
        sides[other].probesUnanswered = 0
        sides[other].probeTimes.removeAll(keepingCapacity: true)
        guard wants(important: false) else { return }
        let rtt = sides[other].lastProbeAt.map { t - $0 }
        record(Event(t: t, source: .wire, kind: .keepaliveAck, direction: dir(side),
                     detail: "the \(Connection.name(side)) answers keepalive probe #\(n)" + (rtt.map { " after \(DurationText.elapsed($0))" } ?? ""),
                     fields: rtt.map { [("rtt_ms", .double(($0 * 1e6).rounded() / 1e3))] } ?? []))
    }

    private func observeWindow(_ s: TCPSegment, side: Int, _ me: TCPSide, at t: Double) {
        let w = Int(s.window)
        defer { me.lastWindow = w }
        if w == 0 {
            if me.zeroWindowSince == nil {
                me.zeroWindowSince = t
                me.zeroWindowEpisodes += 1
                if wants(important: true) {
                    record(Event(t: t, source: .wire, kind: .zeroWindow, direction: dir(side),
                                 detail: "the \(Connection.name(side)) advertises a zero window: its receive buffer is full (the application is not reading)",
                                 fields: [("window", .int(0))]))
                }
            }
        } else if let since = me.zeroWindowSince {
            me.zeroWindowSince = nil
            me.longestZeroWindow = max(me.longestZeroWindow, t - since)
            if wants(important: true) {
                record(Event(t: t, source: .wire, kind: .windowUpdate, direction: dir(side),
                             detail: "the \(Connection.name(side))'s window opens again after \(DurationText.elapsed(t - since)) at zero",
                             fields: [("window", .int(Int64(w))), ("zero_for_s", .double(round6(t - since)))]))
            }
        }
    }

    private func observeProbe(_ s: TCPSegment, side: Int, at t: Double) {
        if sides[1 - side].zeroWindowSince != nil {
            sides[side].zeroWindowProbes += 1
            if sides[side].zeroWindowProbes <= 3 || sides[side].zeroWindowProbes % 10 == 0, wants(important: false) {
                record(Event(t: t, source: .wire, kind: "zero-window-probe", direction: dir(side),
                             detail: "zero-window probe #\(sides[side].zeroWindowProbes) from the \(Connection.name(side))",
                             fields: [("seq", .int(Int64(s.sequence)))]))
            }
            return
        }
        sides[side].probesUnanswered += 1
        sides[side].probesTotal += 1
        sides[side].lastProbeAt = t
        if sides[side].probeTimes.count < 128 { sides[side].probeTimes.append(t) }
        guard wants(important: true) else { return }
        let n = sides[side].probesUnanswered
        var detail = "keepalive probe #\(n) from the \(Connection.name(side)) seq=\(sides[side].relative(s.sequence)) (snd_nxt-1)"
        let times = sides[side].probeTimes
        if times.count >= 2 { detail += ", \(DurationText.elapsed(t - times[times.count - 2])) after the previous" }
        else if let rx = sides[1 - side].lastAt, rx < t { detail += ", \(DurationText.elapsed(t - lastHeardBeforeProbes(side: side))) after the last segment from the \(Connection.name(1 - side))" }
        record(Event(t: t, source: .wire, kind: .keepaliveProbe, direction: dir(side), detail: detail,
                     fields: [("seq", .int(Int64(s.sequence))), ("len", .int(Int64(s.payloadLength))), ("probe", .int(Int64(n)))]))
    }

    /// The last time the other side was heard before `side`'s current probes began.
    func lastHeardBeforeProbes(side: Int) -> Double {
        let other = 1 - side
        let firstProbe = sides[side].probeTimes.first ?? lastAt
        var heard = sides[other].lastAt ?? firstAt
        if heard > firstProbe { heard = sides[other].lastNewDataAt ?? sides[other].firstAt ?? firstAt }
        return heard
    }

    private func observeRetransmission(_ s: TCPSegment, side: Int, at t: Double) {
        var me = sides[side]
        me.retransmissions += 1
        me.retransmittedBytes += s.payloadLength
        if me.episodeSeq != s.sequence {
            me.episodeSeq = s.sequence
            me.episodeTimes.removeAll(keepingCapacity: true)
            me.episodeOriginalAt = me.oldestUnackedAt
        }
        if me.episodeTimes.count < 64 { me.episodeTimes.append(t) }
        sides[side] = me
        let n = me.episodeTimes.count
        guard wants(important: n <= 16) else { return }
        var f: [(String, JSONValue)] = [("seq", .int(Int64(s.sequence))), ("len", .int(Int64(s.payloadLength))),
                                        ("retransmission", .int(Int64(n)))]
        var detail = "retransmission #\(n) from the \(Connection.name(side)) seq=\(me.relative(s.sequence)) len=\(s.payloadLength)"
        let previous = n >= 2 ? me.episodeTimes[n - 2] : me.episodeOriginalAt
        if let p = previous {
            f.append(("interval_s", .double(round6(t - p))))
            detail += ", \(DurationText.elapsed(t - p)) after the previous send"
        }
        record(Event(t: t, source: .wire, kind: .retransmit, direction: dir(side), detail: detail, fields: f))
    }

    private func observeJump(from nxt: UInt32, to seq: UInt32, side: Int, at t: Double) {
        if sides[side].holeStart == nil {
            sides[side].holeStart = nxt
            sides[side].holeEnd = seq
        } else {
            sides[side].holeEnd = seq
        }
    }

    func confirmMissed(side: Int, from a: UInt32, to b: UInt32, at t: Double, why: String) {
        let n = Int(b &- a)
        sides[side].missedBytes += n
        sides[side].missedRanges += 1
        sides[side].holeStart = nil
        sides[side].holeEnd = nil
        streams[side].gap(at: a, bytes: n, budget: holdBudget)
        if let h2 = h2 { h2.directionLost(side: side, at: t, reason: "the capture missed \(n) bytes from the \(Connection.name(side)) at seq \(sides[side].relative(a))") }
        guard wants(important: true) else { return }
        record(Event(t: t, source: .wire, kind: "capture-gap", direction: dir(side),
                     detail: "the capture missed \(n) bytes from the \(Connection.name(side)) (seq \(sides[side].relative(a))–\(sides[side].relative(b))): \(why)",
                     fields: [("seq", .int(Int64(a))), ("len", .int(Int64(n)))]))
    }

    // MARK: - ICMP

    func observeICMP(_ m: ICMPMessage, from router: IPAddress, at t: Double) {
        lastAt = t
        let errnoName = m.linuxErrnoName
        let name = m.version == 6 ? "ICMPv6" : "ICMP"
        let text = "\(name) \(m.type.rawValue)/\(m.code) \(m.codeDescription) from \(router)"
        icmpErrors.append((t, text, errnoName))
        let unreachable = (m.version == 4 && m.type.rawValue == 3) || (m.version == 6 && m.type.rawValue == 1)
        guard wants(important: true) else { return }
        var f: [(String, JSONValue)] = [("icmp_type", .int(Int64(m.type.rawValue))), ("icmp_code", .int(Int64(m.code))), ("from", .string(router.description))]
        if let e = errnoName { f.append(("errno", .string(e))) }
        record(Event(t: t, source: .wire, kind: unreachable ? .icmpUnreachable : .icmpError, direction: .in,
                     detail: text + (errnoName.map { " -> \($0)" } ?? ""), fields: f))
    }
}
