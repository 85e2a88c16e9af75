import ConnDiagCore
import ConnDiagPacket

/// Where a `TCPConnectionTracker` reports what packets meant. Called only for packets that
/// mean something (a handshake step, a retransmission, a probe, a window, a close, a gap) and,
/// for a data segment, once to deliver its payload: an ordinary segment costs no event, no
/// observation and no allocation unless the tracker's options ask for every segment.
public protocol TCPTrackerSink: AnyObject {
    /// True when an event of this weight would be kept: asked before one is built.
    func wants(important: Bool) -> Bool
    /// A timeline event the sink said it wants.
    func record(_ e: Event)
    /// The typed meaning of a packet (what verdicts read).
    func observe(_ o: FlowObservation)
    /// A data segment's payload (new or retransmitted; never a keepalive probe's byte).
    func deliver(_ s: TCPSegment, side: Int, at t: Double, bytes: UnsafeRawBufferPointer)
    /// An acknowledgment proved that the capture missed `bytes` bytes from `side` at `seq`.
    func captureMissed(side: Int, from seq: UInt32, bytes: Int, at t: Double)
}

extension TCPTrackerSink {
    public func observe(_ o: FlowObservation) {}
    public func deliver(_ s: TCPSegment, side: Int, at t: Double, bytes: UnsafeRawBufferPointer) {}
    public func captureMissed(side: Int, from seq: UInt32, bytes: Int, at t: Double) {}
}

/// How much a tracker reports beyond what matters.
public struct TCPTrackerOptions: Sendable, Equatable {
    /// A typed observation and an event for every data segment and for the handshake's third
    /// ACK (one live flow: every packet is worth a line). Off for capture files, whose bulk
    /// transfers are summarised by counters.
    public var everySegment: Bool
    /// Every event of a segment carries its header fields (seq, ack, len, flags, window)
    /// before its own; off, events keep only the fields that explain them.
    public var headerFields: Bool
    /// Judge each RST as the receiver's kernel would (RFC 9293 §3.10.7): an unacceptable one
    /// (a SYN not acknowledged, a sequence number outside the window) is counted as ignored
    /// and does not end the connection. Off live, where our own kernel's errno decides.
    public var judgesResets: Bool

    public init(everySegment: Bool, headerFields: Bool, judgesResets: Bool = false) {
        self.everySegment = everySegment; self.headerFields = headerFields; self.judgesResets = judgesResets
    }

    /// `analyze`: counters per packet, events for what matters.
    public static let capture = TCPTrackerOptions(everySegment: false, headerFields: false, judgesResets: true)
    /// The live commands' own flow: every segment, every header field.
    public static let liveFlow = TCPTrackerOptions(everySegment: true, headerFields: true)
}

/// One TCP connection followed both ways from decoded segments and ICMP errors: the one
/// place that says what each packet means (SYN and its retransmissions, SYN-ACK, the
/// handshake's ACK, data, retransmission episodes, keepalive probes and their answers, also
/// found mid-connection, zero windows and zero-window probes, duplicate ACKs, bytes the
/// capture missed, FIN, RST, ICMP errors quoting the connection).
///
/// Side 0 is the client, side 1 the server. Live, our socket connects, so it is the client.
/// Per packet it updates its two `TCPSide` records in place and reports through a
/// `TCPTrackerSink` only what matters (see `TCPTrackerOptions`).
public final class TCPConnectionTracker {
    /// Inline (no array): a packet updates its side in place with no uniqueness check.
    public let sides: Pair<TCPSide>
    public let options: TCPTrackerOptions
    /// The capture began after the handshake (no SYN seen first).
    public let midConnection: Bool
    public let firstAt: Double
    public private(set) var lastAt: Double
    public private(set) var packets = 0
    /// When the connection ended on the wire (RST, or the second FIN), if it did.
    public private(set) var closedAt: Double?
    /// When nothing more belongs to the connection: an acceptable RST, or both FINs sent and
    /// acknowledged. A FIN nobody acknowledges keeps the connection open (its sender
    /// retransmits it, minutes later if need be).
    public private(set) var finishedAt: Double?
    /// The client's ACK that completed the handshake.
    public private(set) var handshakeACKAt: Double?
    /// ICMP errors quoting the connection, in order.
    public private(set) var icmpErrors: [(t: Double, text: String, errno: String?)] = []

    public init(client: Endpoint, server: Endpoint, midConnection: Bool, at t: Double, options: TCPTrackerOptions = .capture) {
        sides = Pair(TCPSide(endpoint: client), TCPSide(endpoint: server))
        self.midConnection = midConnection
        self.options = options
        firstAt = t
        lastAt = t
    }

    public var client: Endpoint { sides[0].endpoint }
    public var server: Endpoint { sides[1].endpoint }
    public static func name(_ side: Int) -> String { side == 0 ? "client" : "server" }
    @inline(__always) public func dir(_ side: Int) -> Direction { side == 0 ? .out : .in }

    // MARK: - What the live commands read

    /// SYNs the client sent (the first one included).
    public var synCount: Int { sides[0].synCount }
    public var firstSYNAt: Double? { sides[0].synTimes.first }
    public var lastSYNAt: Double? { sides[0].lastSYNAt }
    public var synAckAt: Double? { sides[1].synAckAt }
    /// The last segment from the server.
    public var lastInboundAt: Double? { sides[1].lastAt }
    /// Whether bytes the client sent are still unacknowledged, as far as the wire shows.
    public var clientHasUnacknowledgedData: Bool { sides[0].unacked(peerAck: sides[1].ackSent) > 0 }

    /// The side that sent a segment from `source` to `destination`, nil for another flow.
    public func side(from source: Endpoint, to destination: Endpoint) -> Int? {
        if source == sides[0].endpoint && destination == sides[1].endpoint { return 0 }
        if source == sides[1].endpoint && destination == sides[0].endpoint { return 1 }
        return nil
    }

    /// Whether an ICMP error quotes a packet the client sent on this connection (the quote
    /// may lack the ports when the router quoted too little).
    public func quotesClientPacket(_ q: QuotedFlow) -> Bool {
        q.protocolNumber == 6 && q.source == sides[0].endpoint.address && q.destination == sides[1].endpoint.address
            && (q.sourcePort == nil || q.sourcePort == sides[0].endpoint.port)
            && (q.destinationPort == nil || q.destinationPort == sides[1].endpoint.port)
    }

    // MARK: - Segments

    /// Classifies one segment from `side`. `bytes` holds the captured packet the segment's
    /// payload offset points into (empty when the payload is not wanted).
    public func observe(_ s: TCPSegment, from side: Int, at t: Double, bytes: UnsafeRawBufferPointer, sink: any TCPTrackerSink) {
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
        if len > me.largestPayloadAfterPathMTU && me.pathMTU != nil { me.largestPayloadAfterPathMTU = len }

        if flags.contains(.rst) { observeRST(s, side: side, at: t, sink); return }
        if flags.contains(.syn) { observeSYN(s, side: side, at: t, bytes: bytes, sink); return }
        if flags.contains(.ack) { me.ackSegments += 1 } else { me.bareSegments += 1 }

        if me.sndNxt == nil {
            me.sndNxt = s.sequence
            me.isn = s.sequence &- 1
        }
        var nxt = me.sndNxt!
        let end = s.sequence &+ UInt32(truncatingIfNeeded: len) &+ (flags.contains(.fin) ? 1 : 0)

        // The ACK field first: it may answer probes or end a retransmission episode.
        if flags.contains(.ack) { observeACK(s, side: side, me, peer, at: t, sink) }
        observeWindow(s, side: side, me, at: t, sink)

        let peerAck = peer.ackSent
        // Mid-connection into a zero window, the first segment seen may have been a probe
        // (seq = snd_nxt - 1) that the peer answers, so no unanswered run shows it: the peer's
        // ACK of seq + 1 shows snd_nxt is one further (used by inspect --capture).
        if midConnection && len == 0 && flags == .ack && s.sequence == nxt && peer.zeroWindowSince != nil,
           let pa = peerAck, pa == nxt &+ 1 {
            me.sndNxt = pa
            nxt = pa
        }
        if midConnection && len == 0 && flags == .ack && s.sequence == nxt && me.probesTotal == 0 && me.payloadBytes == 0,
           let prev = me.lastPureACK, prev.seq == s.sequence, prev.ack == s.acknowledgment, t - prev.t >= 0.5,
           (peer.lastAt ?? -1) < prev.t {
            // Mid-connection: the same pure ACK again and again with no answer is a probe run
            // (seq = snd_nxt - 1); the first of them is a probe too.
            me.sndNxt = s.sequence &+ 1
            observeProbe(s, side: side, at: prev.t, sink)
            observeProbe(s, side: side, at: t, sink)
            return
        }
        if len == 0 && flags == .ack {
            me.lastPureACK = (s.sequence, s.acknowledgment, t)
            if side == 0 && handshakeACKAt == nil && peer.synAckAt != nil && s.sequence == nxt {
                observeHandshakeACK(s, at: t, sink)
                return
            }
        }
        // A keepalive probe: seq = snd_nxt - 1 with no data, or with one byte already
        // acknowledged (a 1-byte segment there that is not acknowledged yet is a
        // retransmission of the last byte).
        if len <= 1 && !flags.contains(.fin) && s.sequence == nxt &- 1 && (len == 0 || peerAck == nxt) {
            observeProbe(s, side: side, at: t, sink)
            return
        }
        if len > 0 || flags.contains(.fin) {
            var retransmission = false
            if seqLess(s.sequence, nxt) {
                if !flags.contains(.fin) || me.finSeq == nil || s.sequence != me.finSeq {
                    observeRetransmission(s, side: side, at: t, sink)
                    retransmission = true
                } else if me.finAckedAt == nil && me.finRetransmitTimes.count < 64 {
                    // The FIN alone again: its sender heard no ACK for it.
                    me.finRetransmitTimes.append(t)
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
                if options.everySegment && !retransmission { observeData(s, side: side, at: t, sink) }
                sink.deliver(s, side: side, at: t, bytes: bytes)
            }
            if flags.contains(.fin) && me.finAt == nil { observeFIN(s, side: side, at: t, sink) }
        }
    }

    /// The event fields of a segment: `own` alone, or (with `headerFields`) the segment's
    /// header fields first, then the rest of `own`.
    private func fields(_ s: TCPSegment, _ own: [(String, JSONValue)]) -> [(String, JSONValue)] {
        guard options.headerFields else { return own }
        var f: [(String, JSONValue)] = [("seq", .int(Int64(s.sequence)))]
        if s.flags.contains(.ack) { f.append(("ack", .int(Int64(s.acknowledgment)))) }
        f.append(("len", .int(Int64(s.payloadLength))))
        f.append(("flags", .string(s.flags.description)))
        f.append(("window", .int(Int64(s.window))))
        for x in own where !["seq", "ack", "len", "flags", "window"].contains(x.0) { f.append(x) }
        return f
    }

    private func observed(_ kind: FlowObservation.Kind, _ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        sink.observe(FlowObservation(t: t, direction: dir(side), kind: kind, sequence: s.sequence, length: s.payloadLength))
    }

    private func observeSYN(_ s: TCPSegment, side: Int, at t: Double, bytes: UnsafeRawBufferPointer, _ sink: any TCPTrackerSink) {
        let me = sides[side]
        let isSynAck = s.flags.contains(.ack)
        if me.isn == nil || me.synCount == 0 {
            me.isn = s.sequence
            // Data in the SYN (TCP Fast Open) follows the SYN's own sequence number.
            me.sndNxt = s.sequence &+ 1 &+ UInt32(truncatingIfNeeded: s.payloadLength)
            me.synData = s.payloadLength
        }
        me.synCount += 1
        if me.synTimes.count < 64 { me.synTimes.append(t) }
        let previousSYNAt = me.lastSYNAt
        me.lastSYNAt = t
        if let w = s.options.windowScale { me.windowScale = w }
        me.lastWindow = Int(s.window)
        let n = me.synCount - 1
        if isSynAck {
            if me.synAckAt == nil { me.synAckAt = t }
            me.ackSent = s.acknowledgment
            let peer = sides[1 - side]
            if peer.synData > 0, let isn = peer.isn {
                // TFO: a SYN-ACK acknowledging only the SYN refused the data; the client sends
                // it again after the handshake.
                peer.synDataAcked = seqLess(isn &+ 1, s.acknowledgment)
                if !peer.synDataAcked, peer.payloadBytes <= peer.synData { peer.sndNxt = isn &+ 1 }
            }
        }
        if s.payloadLength > 0 && !isSynAck && me.synCount == 1 {
            var data = s
            data.sequence = s.sequence &+ 1
            me.payloadBytes += s.payloadLength
            me.lastDataAt = t
            sink.deliver(data, side: side, at: t, bytes: bytes)
        }
        observed(isSynAck ? (n == 0 ? .synAck : .synAckRetransmit(n)) : (n == 0 ? .syn : .synRetransmit(n)), s, side: side, at: t, sink)
        guard sink.wants(important: true) else { return }
        var f: [(String, JSONValue)] = [("seq", .int(Int64(s.sequence))), ("len", .int(Int64(s.payloadLength))),
                                        ("flags", .string(s.flags.description)), ("window", .int(Int64(s.window)))]
        var opts: [String] = []
        if let m = s.options.mss { f.append(("mss", .int(Int64(m)))); opts.append("mss \(m)") }
        if let w = s.options.windowScale { opts.append("wscale \(w)") }
        if s.options.sackPermitted { opts.append("sackOK") }
        let optText = opts.isEmpty ? "" : " [\(opts.joined(separator: ","))]"
        if isSynAck {
            var detail = n == 0 ? "SYN-ACK from the \(Self.name(side))" : "SYN-ACK retransmission #\(n)"
            if n == 0, let last = sides[1 - side].lastSYNAt {
                let rtt = t - last
                f.append(("rtt_ms", .double((rtt * 1e6).rounded() / 1e3)))
                detail += ", handshake RTT \(DurationText.elapsed(rtt))"
            }
            sink.record(Event(t: t, source: .wire, kind: n == 0 ? .synAck : .synAckRetransmit, direction: dir(side), detail: detail + optText, fields: fields(s, f)))
        } else if n == 0 {
            if options.headerFields { f.append(("retransmission", .int(0))) }
            sink.record(Event(t: t, source: .wire, kind: .syn, direction: dir(side), detail: "SYN seq=\(s.sequence)\(optText)", fields: fields(s, f)))
        } else {
            let gap = previousSYNAt.map { t - $0 } ?? 0
            f.append(("retransmission", .int(Int64(n))))
            f.append(("interval_s", .double(round6(gap))))
            sink.record(Event(t: t, source: .wire, kind: .synRetransmit, direction: dir(side),
                              detail: "SYN retransmission #\(n), \(DurationText.elapsed(gap)) after the previous, \(DurationText.elapsed(t - me.synTimes[0])) after the first",
                              fields: fields(s, f)))
        }
    }

    private func observeRST(_ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        if options.judgesResets, let why = unacceptableRST(s, side: side) {
            let me = sides[side]
            me.ignoredRSTs += 1
            if me.firstIgnoredRST == nil { me.firstIgnoredRST = (t, why) }
            guard sink.wants(important: true) else { return }
            sink.record(Event(t: t, source: .wire, kind: .rst, direction: dir(side),
                              detail: "RST from the \(Self.name(side)) that the \(Self.name(1 - side))'s kernel ignores: \(why) (a forged or stale reset)",
                              fields: [("seq", .int(Int64(s.sequence))), ("flags", .string(s.flags.description)), ("acceptable", .bool(false))]))
            return
        }
        let first = sides[side].rstAt == nil && sides[1 - side].rstAt == nil
        if sides[side].rstAt == nil { sides[side].rstAt = t }
        if closedAt == nil { closedAt = t }
        if finishedAt == nil { finishedAt = t }
        observed(.rst, s, side: side, at: t, sink)
        guard sink.wants(important: true) else { return }
        var detail = "RST from the \(Self.name(side))"
        if side == 1 && sides[1].synAckAt == nil && sides[0].synCount > 0 { detail += " in answer to the SYN (nothing listens on port \(server.port))" }
        else if !first { detail += " (after the connection was already reset)" }
        else if sides[side].probesUnanswered > 0 { detail += " after \(sides[side].probesUnanswered) unanswered keepalive probes" }
        sink.record(Event(t: t, source: .wire, kind: .rst, direction: dir(side), detail: detail,
                          fields: fields(s, [("seq", .int(Int64(s.sequence))), ("flags", .string(s.flags.description))])))
    }

    /// Why the receiver's kernel would ignore this RST from `side`, nil when it acts on it
    /// (RFC 9293 §3.10.7). The receive window is what the capture saw: the receiver's highest
    /// ACK and last advertised window (scaled when both SYNs were seen); lenient where the
    /// capture cannot tell (no handshake seen, nothing acknowledged yet).
    func unacceptableRST(_ s: TCPSegment, side: Int) -> String? {
        let me = sides[side], receiver = sides[1 - side]
        // The receiver sent a SYN and heard no SYN from this side: it is in SYN-SENT, and only
        // an RST acknowledging its SYN counts (SND.UNA < SEG.ACK =< SND.NXT).
        if receiver.synCount > 0 && receiver.synAckAt == nil && me.synCount == 0, let isn = receiver.isn {
            guard s.flags.contains(.ack) else { return "it does not acknowledge the \(Self.name(1 - side))'s SYN (no ACK flag)" }
            let nxt = receiver.sndNxt ?? isn &+ 1
            if seqLess(isn, s.acknowledgment) && seqLessOrEqual(s.acknowledgment, nxt) { return nil }
            return "its ACK \(s.acknowledgment) does not acknowledge the \(Self.name(1 - side))'s SYN (\(isn &+ 1) expected, RFC 9293 §3.10.7.3)"
        }
        // Synchronized: RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND, judged only when the whole
        // handshake was seen (the window scale is known).
        guard !midConnection, me.synCount > 0, receiver.synCount > 0, let rcvNxt = receiver.ackSent, receiver.lastWindow >= 0 else { return nil }
        let scale = me.windowScale != nil ? Int(receiver.windowScale ?? 0) : 0
        let window = max(1, receiver.lastWindow << scale)
        var end = rcvNxt &+ UInt32(truncatingIfNeeded: window)
        // Bytes this side is known to have sent are inside, whatever the capture missed.
        if let nxt = me.sndNxt, seqLess(end, nxt &+ 1) { end = nxt &+ 1 }
        if seqLessOrEqual(rcvNxt, s.sequence) && seqLess(s.sequence, end) { return nil }
        // Linux also takes RCV.NXT - 1 once the FIN was received (tcp_reset_check).
        if me.finSeq != nil && s.sequence == rcvNxt &- 1 { return nil }
        return "its sequence number \(s.sequence) is outside the \(Self.name(1 - side))'s receive window (\(rcvNxt)..<\(end), RFC 9293 §3.10.7.4)"
    }

    private func observeFIN(_ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        sides[side].finAt = t
        sides[side].finSeq = s.sequence &+ UInt32(truncatingIfNeeded: s.payloadLength)
        if sides[1 - side].finAt != nil && closedAt == nil { closedAt = t }
        observed(.fin, s, side: side, at: t, sink)
        guard sink.wants(important: true) else { return }
        let unacked = sides[side].unacked(peerAck: sides[1 - side].ackSent)
        sink.record(Event(t: t, source: .wire, kind: .fin, direction: dir(side),
                          detail: "FIN from the \(Self.name(side))" + (sides[1 - side].finAt != nil ? " (answering the \(Self.name(1 - side))'s FIN)" : "")
                            + (unacked > s.payloadLength + 1 ? " with \(unacked) bytes unacknowledged" : ""),
                          fields: fields(s, [("seq", .int(Int64(s.sequence))), ("flags", .string(s.flags.description))])))
    }

    /// New data (only with `everySegment`).
    private func observeData(_ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        observed(.data, s, side: side, at: t, sink)
        guard sink.wants(important: false) else { return }
        sink.record(Event(t: t, source: .wire, kind: .data, direction: dir(side), detail: "data len=\(s.payloadLength) seq=\(sides[side].relative(s.sequence))",
                          fields: fields(s, [])))
    }

    /// The client's ACK that completes the handshake.
    private func observeHandshakeACK(_ s: TCPSegment, at t: Double, _ sink: any TCPTrackerSink) {
        handshakeACKAt = t
        observed(.handshakeACK, s, side: 0, at: t, sink)
        guard options.everySegment, sink.wants(important: false) else { return }
        sink.record(Event(t: t, source: .wire, kind: .ack, direction: dir(0), detail: "ACK (handshake complete)", fields: fields(s, [])))
    }

    private func observeACK(_ s: TCPSegment, side: Int, _ me: TCPSide, _ peer: TCPSide, at t: Double, _ sink: any TCPTrackerSink) {
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
            if let f = peer.finSeq, peer.finAckedAt == nil, seqLess(f, ack) {
                peer.finAckedAt = t
                if me.finAckedAt != nil && finishedAt == nil { finishedAt = t }
            }
            answerProbes(s, side: side, at: t, sink)
            // An ACK beyond a hole the capture never saw filled: the capture missed those bytes.
            if let hs = peer.holeStart, let he = peer.holeEnd, seqLessOrEqual(he, ack) {
                confirmMissed(side: other, from: hs, to: he, at: t, why: "the \(Self.name(side)) acknowledged them", sink)
            }
            return
        }
        guard ack == prev, s.payloadLength == 0, !s.flags.contains(.fin) else { return }
        if peer.probesUnanswered > 0, ack == peer.sndNxt {
            answerProbes(s, side: side, at: t, sink)
            return
        }
        // A duplicate ACK: same ack while the other side has data outstanding, same window.
        guard peer.unacked(peerAck: ack) > 0, Int(s.window) == me.lastWindow else { return }
        me.dupAckRun += 1
        me.dupAcks += 1
        if me.dupAckRun == 3 {
            observed(.dupACK(3), s, side: side, at: t, sink)
            if sink.wants(important: false) {
                sink.record(Event(t: t, source: .wire, kind: .dupAck, direction: dir(side),
                                  detail: "3 duplicate ACKs from the \(Self.name(side)) (ack=\(peer.relative(ack))): a segment from the \(Self.name(other)) was lost",
                                  fields: fields(s, [("ack", .int(Int64(ack))), ("count", .int(3))])))
            }
        }
    }

    private func answerProbes(_ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        let other = 1 - side
        guard sides[other].probesUnanswered > 0 else { return }
        let n = sides[other].probesUnanswered
        sides[other].probesAnswered += n
        sides[other].probesUnanswered = 0
        sides[other].probeTimes.removeAll(keepingCapacity: true)
        observed(.keepaliveACK, s, side: side, at: t, sink)
        guard sink.wants(important: false) else { return }
        let rtt = sides[other].lastProbeAt.map { t - $0 }
        sink.record(Event(t: t, source: .wire, kind: .keepaliveAck, direction: dir(side),
                          detail: "the \(Self.name(side)) answers keepalive probe #\(n)" + (rtt.map { " after \(DurationText.elapsed($0))" } ?? ""),
                          fields: fields(s, rtt.map { [("rtt_ms", .double(($0 * 1e6).rounded() / 1e3))] } ?? [])))
    }

    private func observeWindow(_ s: TCPSegment, side: Int, _ me: TCPSide, at t: Double, _ sink: any TCPTrackerSink) {
        let w = Int(s.window)
        defer { me.lastWindow = w }
        if w == 0 {
            if me.zeroWindowSince == nil {
                me.zeroWindowSince = t
                me.zeroWindowEpisodes += 1
                observed(.zeroWindow, s, side: side, at: t, sink)
                if sink.wants(important: true) {
                    sink.record(Event(t: t, source: .wire, kind: .zeroWindow, direction: dir(side),
                                      detail: "the \(Self.name(side)) advertises a zero window: its receive buffer is full (the application is not reading)",
                                      fields: fields(s, [("window", .int(0))])))
                }
            }
        } else if let since = me.zeroWindowSince {
            me.zeroWindowSince = nil
            me.longestZeroWindow = max(me.longestZeroWindow, t - since)
            observed(.windowUpdate, s, side: side, at: t, sink)
            if sink.wants(important: true) {
                sink.record(Event(t: t, source: .wire, kind: .windowUpdate, direction: dir(side),
                                  detail: "the \(Self.name(side))'s window opens again after \(DurationText.elapsed(t - since)) at zero",
                                  fields: fields(s, [("window", .int(Int64(w))), ("zero_for_s", .double(round6(t - since)))])))
            }
        }
    }

    private func observeProbe(_ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        if sides[1 - side].zeroWindowSince != nil {
            // The other side's window is closed: a zero-window probe (tcp_probe_timer), not keepalive.
            sides[side].zeroWindowProbes += 1
            let n = sides[side].zeroWindowProbes
            observed(.zeroWindowProbe(n), s, side: side, at: t, sink)
            if n <= 3 || n % 10 == 0, sink.wants(important: false) {
                sink.record(Event(t: t, source: .wire, kind: .zeroWindowProbe, direction: dir(side),
                                  detail: "zero-window probe #\(n) from the \(Self.name(side))",
                                  fields: fields(s, [("seq", .int(Int64(s.sequence)))])))
            }
            return
        }
        sides[side].probesUnanswered += 1
        sides[side].probesTotal += 1
        sides[side].lastProbeAt = t
        if sides[side].probeTimes.count < 128 { sides[side].probeTimes.append(t) }
        let n = sides[side].probesUnanswered
        sink.observe(FlowObservation(t: t, direction: dir(side), kind: .keepaliveProbe(n), sequence: s.sequence, length: s.payloadLength))
        guard sink.wants(important: true) else { return }
        var detail = "keepalive probe #\(n) from the \(Self.name(side)) seq=\(sides[side].relative(s.sequence)) (snd_nxt-1)"
        let times = sides[side].probeTimes
        if times.count >= 2 { detail += ", \(DurationText.elapsed(t - times[times.count - 2])) after the previous" }
        else if let rx = sides[1 - side].lastAt, rx < t { detail += ", \(DurationText.elapsed(t - lastHeardBeforeProbes(side: side))) after the last segment from the \(Self.name(1 - side))" }
        sink.record(Event(t: t, source: .wire, kind: .keepaliveProbe, direction: dir(side), detail: detail,
                          fields: fields(s, [("seq", .int(Int64(s.sequence))), ("len", .int(Int64(s.payloadLength))), ("probe", .int(Int64(n)))])))
    }

    /// The last time the other side was heard before `side`'s current probes began.
    public func lastHeardBeforeProbes(side: Int) -> Double {
        let other = 1 - side
        let firstProbe = sides[side].probeTimes.first ?? lastAt
        var heard = sides[other].lastAt ?? firstAt
        if heard > firstProbe { heard = sides[other].lastNewDataAt ?? sides[other].firstAt ?? firstAt }
        return heard
    }

    private func observeRetransmission(_ s: TCPSegment, side: Int, at t: Double, _ sink: any TCPTrackerSink) {
        let me = sides[side]
        me.retransmissions += 1
        me.retransmittedBytes += s.payloadLength
        if me.episodeSeq != s.sequence {
            me.episodeSeq = s.sequence
            me.episodeTimes.removeAll(keepingCapacity: true)
            me.episodeOriginalAt = me.oldestUnackedAt
        }
        if me.episodeTimes.count < 64 { me.episodeTimes.append(t) }
        let n = me.episodeTimes.count
        observed(.retransmit(n), s, side: side, at: t, sink)
        guard sink.wants(important: n <= 16) else { return }
        var f: [(String, JSONValue)] = [("seq", .int(Int64(s.sequence))), ("len", .int(Int64(s.payloadLength))),
                                        ("retransmission", .int(Int64(n)))]
        var detail = "retransmission #\(n) from the \(Self.name(side)) seq=\(me.relative(s.sequence)) len=\(s.payloadLength)"
        let previous = n >= 2 ? me.episodeTimes[n - 2] : me.episodeOriginalAt
        if let p = previous {
            f.append(("interval_s", .double(round6(t - p))))
            detail += ", \(DurationText.elapsed(t - p)) after the previous send"
        }
        sink.record(Event(t: t, source: .wire, kind: .retransmit, direction: dir(side), detail: detail, fields: fields(s, f)))
    }

    private func observeJump(from nxt: UInt32, to seq: UInt32, side: Int, at t: Double) {
        if sides[side].holeStart == nil {
            sides[side].holeStart = nxt
            sides[side].holeEnd = seq
        } else {
            sides[side].holeEnd = seq
        }
    }

    private func confirmMissed(side: Int, from a: UInt32, to b: UInt32, at t: Double, why: String, _ sink: any TCPTrackerSink) {
        let n = Int(b &- a)
        sides[side].missedBytes += n
        sides[side].missedRanges += 1
        sides[side].holeStart = nil
        sides[side].holeEnd = nil
        sink.captureMissed(side: side, from: a, bytes: n, at: t)
        sink.observe(FlowObservation(t: t, direction: dir(side), kind: .captureGap(n), sequence: a, length: n))
        guard sink.wants(important: true) else { return }
        sink.record(Event(t: t, source: .wire, kind: .captureGap, direction: dir(side),
                          detail: "the capture missed \(n) bytes from the \(Self.name(side)) (seq \(sides[side].relative(a))–\(sides[side].relative(b))): \(why)",
                          fields: [("seq", .int(Int64(a))), ("len", .int(Int64(n)))]))
    }

    // MARK: - ICMP and damage

    /// An ICMP error quoting this connection (the caller matched the quote).
    public func observeICMP(_ m: ICMPMessage, from router: IPAddress, at t: Double, sink: any TCPTrackerSink) {
        lastAt = t
        let facts = ICMPErrorFacts(version: m.version, type: m.type.rawValue, code: m.code, codeDescription: m.codeDescription,
                                   from: router.description, errnoName: m.linuxErrnoName, mtu: m.mtu)
        if facts.isPathMTUSignal, let mtu = m.mtu, let q = m.quoted {
            // The quote is a segment of the side that sent it: that side must send smaller ones.
            let side = q.source == sides[0].endpoint.address && q.sourcePort == sides[0].endpoint.port ? 0 : 1
            let me = sides[side]
            if let p = me.pathMTU { me.pathMTU = (min(p.mtu, mtu), p.firstAt, p.count + 1, p.from) }
            else { me.pathMTU = (mtu, t, 1, router.description) }
        }
        let text = "\(facts.name) from \(router)" + (facts.isPathMTUSignal ? (m.mtu.map { " (next-hop MTU \($0))" } ?? "") : "")
        icmpErrors.append((t, text, facts.errnoName))
        sink.observe(FlowObservation(t: t, direction: .in, kind: .icmpError(facts)))
        guard sink.wants(important: true) else { return }
        var f: [(String, JSONValue)] = [("icmp_type", .int(Int64(m.type.rawValue))), ("icmp_code", .int(Int64(m.code))), ("from", .string(router.description))]
        if options.headerFields { f.insert(("icmp_version", .int(Int64(m.version))), at: 0) }
        if let e = facts.errnoName { f.append(("errno", .string(e))) }
        sink.record(Event(t: t, source: .wire, kind: facts.isUnreachable ? .icmpUnreachable : .icmpError, direction: .in,
                          detail: text + (facts.errnoName.map { " -> \($0)" } ?? ""), fields: f))
    }

    /// A packet of the connection that could not be decoded: shown, never guessed over.
    public func observeDamaged(_ problem: DecodeProblem, at t: Double, sink: any TCPTrackerSink) {
        sink.observe(FlowObservation(t: t, direction: .in, kind: .damaged))
        guard sink.wants(important: true) else { return }
        if case .truncated = problem { sink.record(Event(t: t, source: .wire, kind: .truncated, detail: problem.description)); return }
        sink.record(Event(t: t, source: .wire, kind: .invalid, detail: problem.description))
    }
}

extension TCPConnectionTracker {
    /// One decoded packet of a live capture: the connection's segments both ways, ICMP errors
    /// quoting the client's packets, and damaged packets the capture filter let through.
    /// Packets of other flows are ignored.
    public func observe(_ p: DecodedPacket, at t: Double, sink: any TCPTrackerSink) {
        if let problem = p.problem, p.tcp == nil, p.icmp == nil { observeDamaged(problem, at: t, sink: sink); return }
        guard let ip = p.ip else { return }
        if let icmp = p.icmp {
            if let q = icmp.quoted, quotesClientPacket(q) { observeICMP(icmp, from: ip.source, at: t, sink: sink) }
            return
        }
        guard let seg = p.tcp,
              let side = side(from: Endpoint(ip.source, seg.sourcePort), to: Endpoint(ip.destination, seg.destinationPort)) else { return }
        observe(seg, from: side, at: t, bytes: UnsafeRawBufferPointer(start: nil, count: 0), sink: sink)
    }
}
