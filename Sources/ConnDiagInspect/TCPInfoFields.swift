/// The fields of the kernel's struct tcp_info (<linux/tcp.h>) that inspect reports, read at
/// their fixed offsets from an INET_DIAG_INFO attribute. An older kernel sends a shorter
/// struct: a field past the end stays nil rather than being read out of bounds.
public struct TCPInfoFields: Sendable, Equatable {
    public var state: UInt8
    public var caState: UInt8
    /// Consecutive retransmissions of the head segment (icsk_retransmits).
    public var retransmits: UInt8
    /// Keepalive or zero-window probes out without an answer (icsk_probes_out).
    public var probes: UInt8
    /// RTO doublings so far (icsk_backoff).
    public var backoff: UInt8
    public var rtoMicros: UInt32
    public var unacked: UInt32
    public var lost: UInt32
    public var lastDataSentMs: UInt32
    public var lastDataReceivedMs: UInt32
    public var lastAckReceivedMs: UInt32
    public var rttMicros: UInt32
    public var rttVarMicros: UInt32
    public var sendCongestionWindow: UInt32
    public var totalRetransmits: UInt32
    public var bytesAcked: UInt64?
    public var bytesReceived: UInt64?
    public var notSentBytes: UInt32?
    public var bytesRetransmitted: UInt64?
    public var sendWindow: UInt32?

    /// The smallest struct that holds every non-optional field (up to tcpi_total_retrans).
    static let minimumLength = 104

    public init(state: UInt8 = 1, caState: UInt8 = 0, retransmits: UInt8 = 0, probes: UInt8 = 0, backoff: UInt8 = 0,
                rtoMicros: UInt32 = 200_000, unacked: UInt32 = 0, lost: UInt32 = 0, lastDataSentMs: UInt32 = 0,
                lastDataReceivedMs: UInt32 = 0, lastAckReceivedMs: UInt32 = 0, rttMicros: UInt32 = 0,
                rttVarMicros: UInt32 = 0, sendCongestionWindow: UInt32 = 10, totalRetransmits: UInt32 = 0) {
        self.state = state; self.caState = caState; self.retransmits = retransmits; self.probes = probes
        self.backoff = backoff; self.rtoMicros = rtoMicros; self.unacked = unacked; self.lost = lost
        self.lastDataSentMs = lastDataSentMs; self.lastDataReceivedMs = lastDataReceivedMs
        self.lastAckReceivedMs = lastAckReceivedMs; self.rttMicros = rttMicros; self.rttVarMicros = rttVarMicros
        self.sendCongestionWindow = sendCongestionWindow; self.totalRetransmits = totalRetransmits
    }

    /// nil when the attribute is shorter than the fields every kernel since 2.6 sends.
    init?(_ b: ByteReader) {
        guard b.count >= TCPInfoFields.minimumLength else { return nil }
        state = b.u8(0); caState = b.u8(1); retransmits = b.u8(2); probes = b.u8(3); backoff = b.u8(4)
        rtoMicros = b.u32(8); unacked = b.u32(24); lost = b.u32(32)
        lastDataSentMs = b.u32(44); lastDataReceivedMs = b.u32(52); lastAckReceivedMs = b.u32(56)
        rttMicros = b.u32(68); rttVarMicros = b.u32(72); sendCongestionWindow = b.u32(80)
        totalRetransmits = b.u32(100)
        bytesAcked = b.count >= 128 ? b.u64(120) : nil
        bytesReceived = b.count >= 136 ? b.u64(128) : nil
        notSentBytes = b.count >= 148 ? b.u32(144) : nil
        bytesRetransmitted = b.count >= 216 ? b.u64(208) : nil
        sendWindow = b.count >= 232 ? b.u32(228) : nil
    }

    public var rto: Double { Double(rtoMicros) / 1e6 }
    /// Time since the peer was last heard (data or ACK), as the keepalive timer counts it.
    public var idleSeconds: Double { Double(min(lastDataReceivedMs, lastAckReceivedMs)) / 1000 }
}

/// A bounds-checked view of bytes in host (little-endian on x86_64/aarch64) order: every
/// read is checked by the caller against `count`, so a lying length cannot read past the end.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    var count: Int { bytes.count }
    func u8(_ o: Int) -> UInt8 { bytes[bytes.startIndex + o] }
    func u16(_ o: Int) -> UInt16 { UInt16(u8(o)) | UInt16(u8(o + 1)) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
    func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
    /// Network byte order (ports).
    func be16(_ o: Int) -> UInt16 { UInt16(u8(o)) << 8 | UInt16(u8(o + 1)) }
    func slice(_ o: Int, _ n: Int) -> ArraySlice<UInt8> { bytes[(bytes.startIndex + o)..<(bytes.startIndex + o + n)] }
}
