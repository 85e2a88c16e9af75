import ConnDiagPacket

/// What `conndiag analyze` reads and which connections it looks at.
public struct AnalyzeOptions: Sendable {
    /// Capture files in order (pcap or pcapng); "-" is stdin.
    public var files: [String]
    /// A BPF filter applied by libpcap before anything is decoded.
    public var filter: String?
    /// Only connections with one of these ports on either side (empty: all).
    public var ports: [UInt16]
    /// Only connections with one of these addresses on either side (empty: all).
    public var hosts: [IPAddress]
    /// Ports whose connections are HTTP/2 even without a client preface in the capture.
    public var http2Ports: [UInt16]
    /// At most this many connections are tracked at once; the longest idle is evicted.
    public var maxConnections: Int
    /// A send window at zero for longer than this (with the sender idle) is a stall.
    public var stallThreshold: Double
    /// Events kept per connection before routine ones (data, headers, window updates,
    /// acknowledged PINGs) are only counted; important ones are kept up to 1.5 times this.
    /// A whole run keeps at most 32 times this many routine events (see `RunBudget`), so
    /// reports of huge captures stay bounded; counts always cover everything.
    public var maxEventsPerConnection: Int
    /// The kernel's tcp_retries2 assumed for the sender (the capture cannot tell).
    public var assumedRetries2: Int
    /// NSS key-log files (SSLKEYLOGFILE format) whose secrets decrypt TLS connections;
    /// pcapng Decryption Secrets Blocks add to them.
    public var keyLogFiles: [String] = []

    public init(files: [String], filter: String? = nil, ports: [UInt16] = [], hosts: [IPAddress] = [],
                http2Ports: [UInt16] = [], maxConnections: Int = 10_000, stallThreshold: Double = 5,
                maxEventsPerConnection: Int = 300, assumedRetries2: Int = 15) {
        self.files = files; self.filter = filter; self.ports = ports; self.hosts = hosts
        self.http2Ports = http2Ports; self.maxConnections = maxConnections
        self.stallThreshold = stallThreshold; self.maxEventsPerConnection = maxEventsPerConnection
        self.assumedRetries2 = assumedRetries2
    }
}
