import ConnDiagPacket

/// What one endpoint of a connection sent, as the wire shows it. `TCPConnectionTracker` keeps two
/// of these and updates them in place for every segment (a reference, so reading one field
/// never copies the whole record).
public final class TCPSide {
    public var endpoint: Endpoint
    /// The first sequence number seen from this side (its ISN when the SYN was captured).
    public var isn: UInt32?
    /// Highest sequence number sent plus its length (snd_nxt as the wire shows it).
    public var sndNxt: UInt32?
    /// Highest acknowledgment this side sent (how far it has received the other side's bytes).
    public var ackSent: UInt32?
    /// Window scale from this side's SYN (applies once both SYNs carried the option).
    public var windowScale: UInt8?
    public var lastWindow: Int = -1

    public var synCount = 0
    public var synTimes: [Double] = []
    public var lastSYNAt: Double?
    public var synAckAt: Double?
    public var finAt: Double?
    public var finSeq: UInt32?
    /// When the other side acknowledged this side's FIN.
    public var finAckedAt: Double?
    /// This side's FIN sent again (same sequence number, not acknowledged meanwhile).
    public var finRetransmitTimes: [Double] = []
    /// This side's first acceptable RST (one the other side's kernel acts on).
    public var rstAt: Double?
    /// RSTs from this side the receiver's kernel ignores (RFC 9293 §3.10.7.3: in SYN-SENT an
    /// RST must acknowledge the SYN; later its sequence number must be in the receive window).
    public var ignoredRSTs = 0
    public var firstIgnoredRST: (t: Double, why: String)?
    /// Bytes carried in this side's SYN (TCP Fast Open), and whether the SYN-ACK acknowledged them.
    public var synData = 0
    public var synDataAcked = false
    /// Segments after the SYN that carry an ACK (not RSTs): a side that sends them completed
    /// its handshake, whether or not the capture saw the other side's SYN-ACK.
    public var ackSegments = 0
    /// Segments with none of SYN, ACK, RST (FIN, FIN+PSH+URG, no flags): never part of a
    /// connection (RFC 9293 sends ACK on every segment after the SYN), the probes of a
    /// FIN/XMAS/NULL port scan.
    public var bareSegments = 0

    /// ICMP "fragmentation needed" / "packet too big" quoting this side's segments (path MTU
    /// discovery): the smallest next-hop MTU, the first one's time, how many, who sent them;
    /// and the largest payload this side sent after the first (it should fit that MTU).
    public var pathMTU: (mtu: UInt32, firstAt: Double, count: Int, from: String)?
    public var largestPayloadAfterPathMTU = 0

    public var packets = 0
    public var payloadBytes = 0
    public var firstAt: Double?
    public var lastAt: Double?
    public var lastDataAt: Double?
    /// Time of the newest segment from this side that carried data or a FIN, before the
    /// current run of retransmissions or probes (what "went silent at" means).
    public var lastNewDataAt: Double?

    // Retransmissions.
    public var retransmissions = 0
    public var retransmittedBytes = 0
    /// The current episode: the same head sequence sent again and again without progress.
    public var episodeSeq: UInt32?
    public var episodeTimes: [Double] = []
    /// When the head of the episode was first sent (if the capture saw it).
    public var episodeOriginalAt: Double?
    /// The longest episode seen (for connections that recovered).
    public var longestEpisode = 0
    /// Time the oldest still-unacknowledged byte was sent.
    public var oldestUnackedAt: Double?

    // Keepalive probes (pure ACK, seq = snd_nxt - 1, 0 or 1 byte, nothing unacknowledged).
    public var probesUnanswered = 0
    public var probesTotal = 0
    public var probesAnswered = 0
    public var probeTimes: [Double] = []
    public var lastProbeAt: Double?
    /// The last pure ACK (no data) sent: repeated ones, unanswered, are keepalive probes
    /// even when the capture began after the byte that tells snd_nxt.
    public var lastPureACK: (seq: UInt32, ack: UInt32, t: Double)?

    // Zero window advertised by this side (its receive buffer is full).
    public var zeroWindowSince: Double?
    public var zeroWindowEpisodes = 0
    public var longestZeroWindow = 0.0
    public var zeroWindowProbes = 0

    // Duplicate ACKs this side sent.
    public var dupAckRun = 0
    public var dupAcks = 0

    /// A sequence jump in this side's data the capture has not (yet) seen filled.
    public var holeStart: UInt32?
    public var holeEnd: UInt32?
    public var missedBytes = 0
    public var missedRanges = 0
    /// Segments whose payload was cut by the snapshot length.
    public var snaplenCut = 0

    public init(endpoint: Endpoint) { self.endpoint = endpoint }

    /// Bytes sent but not acknowledged by the other side, given its highest ACK.
    @inlinable public func unacked(peerAck: UInt32?) -> Int {
        guard let n = sndNxt, let a = peerAck else { return 0 }
        let d = Int32(bitPattern: n &- a)
        return d > 0 ? Int(d) : 0
    }

    /// Sequence number relative to the first one seen (what Wireshark shows).
    @inlinable public func relative(_ seq: UInt32) -> Int64 { Int64(seq &- (isn ?? seq)) }
}

/// Sequence-space comparison (RFC 9293 modulo 2^32).
@inlinable @inline(__always) public func seqLess(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inlinable @inline(__always) public func seqLessOrEqual(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) <= 0 }
