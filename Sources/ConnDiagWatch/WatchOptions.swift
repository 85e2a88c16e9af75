import ConnDiagAnalyze

/// What `conndiag watch` captures and when it stops.
public struct WatchOptions: Sendable {
    /// The interface to capture on, in the namespace the run is in ("any": all of them).
    public var interface: String
    /// A BPF filter (tcpdump syntax); nil: every TCP segment and the ICMP errors that may quote one.
    public var filter: String?
    /// At most this many connections are followed at once; the longest idle is evicted (noted).
    public var maxConnections: Int
    /// The kernel's capture buffer, bytes (pcap_set_buffer_size).
    public var bufferSize: Int
    /// Bytes kept per packet. Linux's packet ring has one slot of this size per packet, so
    /// it decides how many packets a buffer holds: 65,600 keeps a whole 64 KiB GSO segment
    /// (the largest veth and loopback hand over) with its link header, four times as many
    /// slots as libpcap's 262,144.
    public var snaplen = 65_600
    /// libpcap's immediate mode (TPACKET_V2: every packet at once, one snaplen-sized ring slot
    /// each). Off (the default), TPACKET_V3 blocks hold packets by their size — a 32 MB buffer
    /// keeps ~20,000 wire-sized packets instead of ~500 — and are handed over when full or
    /// after `blockTimeoutMs`, which bounds the added latency.
    public var immediate = false
    public var blockTimeoutMs: Int32 = 10
    /// Raw packets are also written here (pcap), for Wireshark or `analyze` later.
    public var writePcap: String?
    /// With `writePcap`: keep at most this many bytes, in two files that take turns
    /// (FILE and FILE.1); 0 keeps one growing file.
    public var writePcapRingBytes: Int
    /// Stop after this many seconds (nil: until interrupted).
    public var duration: Double?
    /// Stop after the first finding at or above this severity.
    public var untilFirst: Severity?
    /// Seconds between status records (packets, kernel drops, connections followed).
    public var statusInterval: Double
    /// Read the options of local sockets (sock_diag + pidfd_getfd) for exact predictions.
    public var readSocketOptions: Bool
    /// A send window at zero for longer than this is a flow-control stall (as `analyze`).
    public var stallThreshold: Double

    public init(interface: String = "any", filter: String? = nil, maxConnections: Int = 10_000, bufferSize: Int = 32 << 20,
                writePcap: String? = nil, writePcapRingBytes: Int = 0, duration: Double? = nil, untilFirst: Severity? = nil,
                statusInterval: Double = 10, readSocketOptions: Bool = true, stallThreshold: Double = 5) {
        self.interface = interface; self.filter = filter; self.maxConnections = maxConnections; self.bufferSize = bufferSize
        self.writePcap = writePcap; self.writePcapRingBytes = writePcapRingBytes; self.duration = duration
        self.untilFirst = untilFirst; self.statusInterval = statusInterval; self.readSocketOptions = readSocketOptions
        self.stallThreshold = stallThreshold
    }

    /// The filter when none is given: TCP, and the ICMP errors that quote a TCP segment.
    public static let defaultFilter = "tcp or (icmp and (icmp[0] == 3 or icmp[0] == 11)) or (icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3))"
}
