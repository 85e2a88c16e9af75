import ConnDiagCore
import ConnDiagPacket

/// Follows one TCP flow (our socket's 4-tuple) packet by packet and names what each packet
/// means: SYN and its retransmissions, SYN-ACK, RST, FIN, data and its retransmissions,
/// keepalive probes and their ACKs, zero windows, and ICMP errors quoting the flow.
public final class FlowTracker {
    public let local: SocketAddress
    public let remote: SocketAddress

    /// Outbound SYNs seen so far (first SYN is number 0).
    public private(set) var synCount = 0
    public private(set) var firstSYNAt: Double?
    public private(set) var lastSYNAt: Double?
    public private(set) var synAckAt: Double?
    /// Highest sequence number sent + its length (snd_nxt as seen on the wire).
    private var sndNxt: UInt32?
    private var rcvNxt: UInt32?
    /// When each not-yet-acknowledged outbound sequence number was last sent.
    private var lastSendOfSeq: [UInt32: (t: Double, count: Int)] = [:]
    private var highestAcked: UInt32?
    private var probesOutstanding = 0
    private var lastProbeAt: Double?
    private var peerWindowZero = false
    public private(set) var lastInboundAt: Double?
    public private(set) var counts: [EventKind: Int] = [:]
    /// What each packet of the flow meant, typed: the evidence verdicts read.
    public private(set) var observations = RecentLog<FlowObservation>()
    /// The same counts for packets that went one way (an RST in is the peer's, out is ours).
    private var inboundCounts: [EventKind: Int] = [:]
    private var outboundCounts: [EventKind: Int] = [:]

    public init(local: SocketAddress, remote: SocketAddress) { self.local = local; self.remote = remote }

    /// Returns the event a packet amounts to, or nil for packets of no interest
    /// (other flows, plain ACKs of data).
    public func observe(_ p: DecodedPacket, at t: Double) -> Event? {
        if let problem = p.problem, p.tcp == nil, p.icmp == nil {
            // Damaged packets that matched our filter are shown, never guessed over.
            observations.append(FlowObservation(t: t, direction: .in, kind: .damaged))
            if case .truncated = problem { return count(Event(t: t, source: .wire, kind: .truncated, detail: problem.description)) }
            return count(Event(t: t, source: .wire, kind: .invalid, detail: problem.description))
        }
        guard let ip = p.ip else { return nil }
        if let icmp = p.icmp { return observeICMP(icmp, from: ip.source, at: t) }
        guard let seg = p.tcp else { return nil }
        let outbound = ip.source == local.ip && seg.sourcePort == local.port && ip.destination == remote.ip && seg.destinationPort == remote.port
        let inbound = ip.source == remote.ip && seg.sourcePort == remote.port && ip.destination == local.ip && seg.destinationPort == local.port
        guard outbound || inbound else { return nil }
        return count(outbound ? observeOutbound(seg, at: t) : observeInbound(seg, at: t))
    }

    private func count(_ e: Event?) -> Event? {
        guard let e else { return nil }
        counts[e.kind, default: 0] += 1
        switch e.direction {
        case .in: inboundCounts[e.kind, default: 0] += 1
        case .out: outboundCounts[e.kind, default: 0] += 1
        case nil: break
        }
        return e
    }

    /// Records what a segment meant and returns its timeline event.
    private func observed(_ kind: FlowObservation.Kind, _ s: TCPSegment, _ direction: Direction, at t: Double, _ event: Event) -> Event {
        observations.append(FlowObservation(t: t, direction: direction, kind: kind, sequence: s.sequence, length: s.payloadLength))
        return event
    }

    /// How many events of `kind` went `direction` so far.
    public func count(of kind: EventKind, _ direction: Direction) -> Int {
        (direction == .in ? inboundCounts : outboundCounts)[kind, default: 0]
    }

    /// Whether data we sent is still unacknowledged, as far as the wire shows.
    public var hasUnacknowledgedData: Bool { !lastSendOfSeq.isEmpty }

    private func base(_ s: TCPSegment) -> [(String, JSONValue)] {
        var f: [(String, JSONValue)] = [("seq", .int(Int64(s.sequence)))]
        if s.flags.contains(.ack) { f.append(("ack", .int(Int64(s.acknowledgment)))) }
        f.append(("len", .int(Int64(s.payloadLength))))
        f.append(("flags", .string(s.flags.description)))
        f.append(("window", .int(Int64(s.window))))
        return f
    }

    private func observeOutbound(_ s: TCPSegment, at t: Double) -> Event? {
        var f = base(s)
        if s.flags.contains(.syn) {
            let n = synCount
            synCount += 1
            if firstSYNAt == nil { firstSYNAt = t }
            let gap = lastSYNAt.map { t - $0 }
            lastSYNAt = t
            sndNxt = s.sequence &+ 1
            f.append(("retransmission", .int(Int64(n))))
            var opts: [String] = []
            if let m = s.options.mss { f.append(("mss", .int(Int64(m)))); opts.append("mss \(m)") }
            if let w = s.options.windowScale { opts.append("wscale \(w)") }
            if s.options.sackPermitted { opts.append("sackOK") }
            if n == 0 {
                return observed(.syn, s, .out, at: t, Event(t: t, source: .wire, kind: .syn, direction: .out,
                             detail: "SYN seq=\(s.sequence)" + (opts.isEmpty ? "" : " [\(opts.joined(separator: ","))]"), fields: f))
            }
            let g = gap.map { ", \(DurationText.format($0)) after the previous" } ?? ""
            return observed(.synRetransmit(n), s, .out, at: t, Event(t: t, source: .wire, kind: .synRetransmit, direction: .out,
                         detail: "SYN retransmission #\(n)\(g)", fields: f))
        }
        if s.flags.contains(.rst) {
            return observed(.rst, s, .out, at: t, Event(t: t, source: .wire, kind: .rst, direction: .out, detail: "RST sent by this host seq=\(s.sequence)", fields: f))
        }
        let end = s.sequence &+ UInt32(truncatingIfNeeded: s.payloadLength) &+ (s.flags.contains(.fin) ? 1 : 0)
        // Keepalive probe: no new data, seq = snd_nxt - 1 (0 or 1 byte of old data).
        if let nxt = sndNxt, s.payloadLength <= 1, !s.flags.contains(.fin), s.sequence == nxt &- 1 {
            probesOutstanding += 1
            lastProbeAt = t
            f.append(("probe", .int(Int64(probesOutstanding))))
            return observed(.keepaliveProbe(probesOutstanding), s, .out, at: t, Event(t: t, source: .wire, kind: .keepaliveProbe, direction: .out,
                         detail: "keepalive probe #\(probesOutstanding) seq=\(s.sequence) (snd_nxt-1)", fields: f))
        }
        var event: Event?
        if s.payloadLength > 0 || s.flags.contains(.fin) {
            if let nxt = sndNxt, seqLess(s.sequence, nxt) {
                let prior = lastSendOfSeq[s.sequence]
                let n = (prior?.count ?? 0) + 1
                lastSendOfSeq[s.sequence] = (t, n)
                f.append(("retransmission", .int(Int64(n))))
                var detail = "retransmission #\(n) seq=\(s.sequence) len=\(s.payloadLength)"
                if let p = prior { f.append(("interval_s", .double(t - p.t))); detail += ", \(DurationText.format(t - p.t)) after the previous send" }
                event = observed(.retransmit(n), s, .out, at: t, Event(t: t, source: .wire, kind: .retransmit, direction: .out, detail: detail, fields: f))
            } else {
                lastSendOfSeq[s.sequence] = (t, 0)
                if s.flags.contains(.fin) {
                    event = observed(.fin, s, .out, at: t, Event(t: t, source: .wire, kind: .fin, direction: .out, detail: "FIN sent by this host", fields: f))
                } else {
                    event = observed(.data, s, .out, at: t, Event(t: t, source: .wire, kind: .data, direction: .out, detail: "data len=\(s.payloadLength) seq=\(s.sequence)", fields: f))
                }
            }
        } else if synAckAt != nil, rcvNxt != nil, counts[.ack, default: 0] == 0, s.flags == .ack {
            // The third packet of the handshake.
            event = observed(.handshakeACK, s, .out, at: t, Event(t: t, source: .wire, kind: .ack, direction: .out, detail: "ACK (handshake complete)", fields: f))
        }
        if let nxt = sndNxt { if seqLess(nxt, end) { sndNxt = end } } else { sndNxt = end }
        return event
    }

    private func observeInbound(_ s: TCPSegment, at t: Double) -> Event? {
        lastInboundAt = t
        var f = base(s)
        if s.flags.contains(.rst) {
            let detail = synAckAt == nil ? "RST from the peer (nothing listens on port \(remote.port))" : "RST from the peer"
            return observed(.rst, s, .in, at: t, Event(t: t, source: .wire, kind: .rst, direction: .in, detail: detail, fields: f))
        }
        if s.flags.contains(.syn) && s.flags.contains(.ack) {
            synAckAt = t
            rcvNxt = s.sequence &+ 1
            var detail = "SYN-ACK"
            if let last = lastSYNAt {
                let rtt = t - last
                f.append(("rtt_ms", .double((rtt * 1e6).rounded() / 1e3)))
                detail += ", handshake RTT \(DurationText.trimmed(rtt * 1000)) ms"
            }
            return observed(.synAck, s, .in, at: t, Event(t: t, source: .wire, kind: .synAck, direction: .in, detail: detail, fields: f))
        }
        if s.flags.contains(.ack) {
            if let h = highestAcked { if seqLess(h, s.acknowledgment) { highestAcked = s.acknowledgment } } else { highestAcked = s.acknowledgment }
            lastSendOfSeq = lastSendOfSeq.filter { !seqLess($0.key, s.acknowledgment) }
        }
        let end = s.sequence &+ UInt32(truncatingIfNeeded: s.payloadLength) &+ (s.flags.contains(.fin) ? 1 : 0)
        defer { if let r = rcvNxt { if seqLess(r, end) { rcvNxt = end } } else { rcvNxt = end } }
        if s.flags.contains(.fin) {
            return observed(.fin, s, .in, at: t, Event(t: t, source: .wire, kind: .fin, direction: .in, detail: "FIN from the peer", fields: f))
        }
        if s.payloadLength > 0 {
            return observed(.data, s, .in, at: t, Event(t: t, source: .wire, kind: .data, direction: .in, detail: "data len=\(s.payloadLength) seq=\(s.sequence)", fields: f))
        }
        if probesOutstanding > 0, let nxt = sndNxt, s.acknowledgment == nxt {
            let n = probesOutstanding
            probesOutstanding = 0
            let rtt = lastProbeAt.map { t - $0 }
            if let r = rtt { f.append(("rtt_ms", .double((r * 1e6).rounded() / 1e3))) }
            return observed(.keepaliveACK, s, .in, at: t, Event(t: t, source: .wire, kind: .keepaliveAck, direction: .in,
                         detail: "ACK of keepalive probe #\(n)" + (rtt.map { " after \(DurationText.format($0))" } ?? ""), fields: f))
        }
        if s.window == 0 && !peerWindowZero {
            peerWindowZero = true
            return observed(.zeroWindow, s, .in, at: t, Event(t: t, source: .wire, kind: .zeroWindow, direction: .in, detail: "peer advertises a zero window", fields: f))
        }
        if s.window > 0 && peerWindowZero {
            peerWindowZero = false
            return observed(.windowUpdate, s, .in, at: t, Event(t: t, source: .wire, kind: .windowUpdate, direction: .in, detail: "peer window opens to \(s.window)", fields: f))
        }
        return nil
    }

    private func observeICMP(_ m: ICMPMessage, from router: IPAddress, at t: Double) -> Event? {
        guard let q = m.quoted, q.source == local.ip, q.destination == remote.ip, q.protocolNumber == 6,
              q.sourcePort == nil || q.sourcePort == local.port,
              q.destinationPort == nil || q.destinationPort == remote.port else { return nil }
        var f: [(String, JSONValue)] = [("icmp_version", .int(Int64(m.version))), ("icmp_type", .int(Int64(m.type.rawValue))),
                                        ("icmp_code", .int(Int64(m.code))), ("from", .string(router.description))]
        let facts = ICMPErrorFacts(version: m.version, type: m.type.rawValue, code: m.code, codeDescription: m.codeDescription,
                                   from: router.description, errnoName: m.linuxErrnoName)
        if let e = facts.errnoName { f.append(("errno", .string(e))) }
        observations.append(FlowObservation(t: t, direction: .in, kind: .icmpError(facts)))
        let detail = "\(facts.name) from \(router)" + (facts.errnoName.map { " -> \($0)" } ?? "")
        return count(Event(t: t, source: .wire, kind: facts.isUnreachable ? .icmpUnreachable : .icmpError, direction: .in, detail: detail, fields: f))
    }
}

/// Sequence-space comparison (RFC 793 modulo 2^32).
@inline(__always) func seqLess(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
