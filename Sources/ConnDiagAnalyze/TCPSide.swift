/// What one endpoint of a connection sent, as the capture shows it. The connection keeps two
/// of these and updates them in place for every segment (a reference, so reading one field
/// never copies the whole record).
final class TCPSide {
    var endpoint: Endpoint
    /// The first sequence number seen from this side (its ISN when the SYN was captured).
    var isn: UInt32?
    /// Highest sequence number sent plus its length (snd_nxt as the wire shows it).
    var sndNxt: UInt32?
    /// Highest acknowledgment this side sent (how far it has received the other side's bytes).
    var ackSent: UInt32?
    /// Window scale from this side's SYN (applies once both SYNs carried the option).
    var windowScale: UInt8?
    var lastWindow: Int = -1

    var synCount = 0
    var synTimes: [Double] = []
    var synAckAt: Double?
    var finAt: Double?
    var finSeq: UInt32?
    var rstAt: Double?

    var packets = 0
    var payloadBytes = 0
    var firstAt: Double?
    var lastAt: Double?
    var lastDataAt: Double?
    /// Time of the newest segment from this side that carried data or a FIN, before the
    /// current run of retransmissions or probes (what "went silent at" means).
    var lastNewDataAt: Double?

    // Retransmissions.
    var retransmissions = 0
    var retransmittedBytes = 0
    /// The current episode: the same head sequence sent again and again without progress.
    var episodeSeq: UInt32?
    var episodeTimes: [Double] = []
    /// When the head of the episode was first sent (if the capture saw it).
    var episodeOriginalAt: Double?
    /// The longest episode seen (for connections that recovered).
    var longestEpisode = 0
    /// Time the oldest still-unacknowledged byte was sent.
    var oldestUnackedAt: Double?

    // Keepalive probes (pure ACK, seq = snd_nxt - 1, 0 or 1 byte, nothing unacknowledged).
    var probesUnanswered = 0
    var probesTotal = 0
    var probesAnswered = 0
    var probeTimes: [Double] = []
    var lastProbeAt: Double?
    /// The last pure ACK (no data) sent: repeated ones, unanswered, are keepalive probes
    /// even when the capture began after the byte that tells snd_nxt.
    var lastPureACK: (seq: UInt32, ack: UInt32, t: Double)?

    // Zero window advertised by this side (its receive buffer is full).
    var zeroWindowSince: Double?
    var zeroWindowEpisodes = 0
    var longestZeroWindow = 0.0
    var zeroWindowProbes = 0

    // Duplicate ACKs this side sent.
    var dupAckRun = 0
    var dupAcks = 0

    /// A sequence jump in this side's data the capture has not (yet) seen filled.
    var holeStart: UInt32?
    var holeEnd: UInt32?
    var missedBytes = 0
    var missedRanges = 0
    /// Segments whose payload was cut by the snapshot length.
    var snaplenCut = 0

    init(endpoint: Endpoint) { self.endpoint = endpoint }

    /// Bytes sent but not acknowledged by the other side, given its highest ACK.
    func unacked(peerAck: UInt32?) -> Int {
        guard let n = sndNxt, let a = peerAck else { return 0 }
        let d = Int32(bitPattern: n &- a)
        return d > 0 ? Int(d) : 0
    }

    /// Sequence number relative to the first one seen (what Wireshark shows).
    func relative(_ seq: UInt32) -> Int64 { Int64(seq &- (isn ?? seq)) }
}

/// Sequence-space comparison (RFC 9293 modulo 2^32).
@inline(__always) func seqLess(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inline(__always) func seqLessOrEqual(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) <= 0 }
