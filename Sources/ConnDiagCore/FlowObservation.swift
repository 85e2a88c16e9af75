/// What one packet of a TCP connection meant, as `TCPConnectionTracker` classified it: the
/// typed evidence verdicts read (the timeline event beside it is only its rendering).
public struct FlowObservation: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case syn
        /// The n-th retransmission of the SYN (1-based).
        case synRetransmit(Int)
        case synAck
        /// The n-th retransmission of the SYN-ACK (1-based).
        case synAckRetransmit(Int)
        /// The third packet of the handshake.
        case handshakeACK
        case rst
        case fin
        case data
        /// The n-th send of the same head sequence number again without progress (1-based).
        case retransmit(Int)
        /// The n-th unanswered keepalive probe of the current run (1-based).
        case keepaliveProbe(Int)
        case keepaliveACK
        case zeroWindow
        case windowUpdate
        /// The n-th probe of the other side's zero window (seq = snd_nxt - 1 while its window
        /// is closed: the persist timer, not keepalive).
        case zeroWindowProbe(Int)
        /// The n-th duplicate ACK in a row (reported at the third: a segment was lost).
        case dupACK(Int)
        /// An ACK proved the capture missed this many bytes (`sequence`, `length`).
        case captureGap(Int)
        case icmpError(ICMPErrorFacts)
        /// A packet of the flow that could not be decoded (truncated or invalid).
        case damaged
    }

    public var t: Double
    /// `.out` from the client (live: our socket), `.in` from the server (ICMP errors are `.in`).
    public var direction: Direction
    public var kind: Kind
    public var sequence: UInt32
    public var length: Int

    public init(t: Double, direction: Direction, kind: Kind, sequence: UInt32 = 0, length: Int = 0) {
        self.t = t; self.direction = direction; self.kind = kind; self.sequence = sequence; self.length = length
    }

    public var isKeepaliveProbe: Bool { if case .keepaliveProbe = kind { return true }; return false }
    public var isRetransmission: Bool { if case .retransmit = kind { return true }; return false }
    public var icmp: ICMPErrorFacts? { if case .icmpError(let f) = kind { return f }; return nil }
}

/// An ICMP or ICMPv6 error quoting the watched flow.
public struct ICMPErrorFacts: Sendable, Equatable {
    /// 4 or 6.
    public var version: UInt8
    public var type: UInt8
    public var code: UInt8
    /// "host unreachable", "port unreachable", ...
    public var codeDescription: String
    /// The router or host that sent it.
    public var from: String
    /// The errno a Linux TCP socket gets from it, by name (nil when TCP ignores it).
    public var errnoName: String?
    /// The next-hop MTU of a "fragmentation needed" (ICMP 3/4) or "packet too big" (ICMPv6 2).
    public var mtu: UInt32?

    public init(version: UInt8, type: UInt8, code: UInt8, codeDescription: String, from: String, errnoName: String?, mtu: UInt32? = nil) {
        self.version = version; self.type = type; self.code = code
        self.codeDescription = codeDescription; self.from = from; self.errnoName = errnoName; self.mtu = mtu
    }

    /// Path MTU discovery's signal (RFC 1191, RFC 8201): the sender must send smaller packets.
    public var isPathMTUSignal: Bool { (version == 4 && type == 3 && code == 4) || (version == 6 && type == 2) }

    /// Destination unreachable (ICMP type 3, ICMPv6 type 1), as opposed to other errors.
    public var isUnreachable: Bool { (version == 4 && type == 3) || (version == 6 && type == 1) }

    /// "ICMP 3/1 host unreachable".
    public var name: String { "\(version == 6 ? "ICMPv6" : "ICMP") \(type)/\(code) \(codeDescription)" }
}

/// A TCP_INFO sample: the kernel's counters that verdicts use, at a moment of the run.
public struct TCPInfoSample: Sendable, Equatable {
    public var t: Double
    public var retransmits: Int
    public var unacked: Int
    public var rtoMs: Double
    public init(t: Double, retransmits: Int, unacked: Int, rtoMs: Double) {
        self.t = t; self.retransmits = retransmits; self.unacked = unacked; self.rtoMs = rtoMs
    }
}

/// The most recent `limit` items of a long run (verdicts read the tail: what happened since
/// the peer was last heard). Dropping a quarter at a time keeps appends amortised O(1).
public struct RecentLog<Element> {
    public private(set) var items: [Element] = []
    public let limit: Int
    public private(set) var dropped = 0

    public init(limit: Int = 20_000) { self.limit = max(limit, 16) }

    public mutating func append(_ e: Element) {
        items.append(e)
        if items.count > limit {
            let n = limit / 4
            items.removeFirst(n)
            dropped += n
        }
    }

    public func last(where p: (Element) -> Bool) -> Element? { items.last(where: p) }
    public func filter(_ p: (Element) -> Bool) -> [Element] { items.filter(p) }
}
