import ConnDiagCore
import ConnDiagPacket

/// The socket options users set in production. nil means "leave the kernel default".
public struct SocketOptions: Sendable, Equatable {
    public var keepalive: Bool?
    public var keepIdle: Int?          // seconds
    public var keepIntvl: Int?         // seconds
    public var keepCnt: Int?
    public var userTimeoutMs: Int?
    public var synCnt: Int?
    public var noDelay: Bool?
    public var source: IPAddress?
    public var sourcePort: UInt16?

    public init(keepalive: Bool? = nil, keepIdle: Int? = nil, keepIntvl: Int? = nil, keepCnt: Int? = nil,
                userTimeoutMs: Int? = nil, synCnt: Int? = nil, noDelay: Bool? = nil,
                source: IPAddress? = nil, sourcePort: UInt16? = nil) {
        self.keepalive = keepalive; self.keepIdle = keepIdle; self.keepIntvl = keepIntvl
        self.keepCnt = keepCnt; self.userTimeoutMs = userTimeoutMs; self.synCnt = synCnt
        self.noDelay = noDelay; self.source = source; self.sourcePort = sourcePort
    }
}

/// The options in force on a socket, read back with getsockopt (what the kernel will use,
/// including defaults the user did not set).
public struct EffectiveSocketOptions: Sendable, Equatable {
    public var keepalive: Bool
    public var keepIdle: Int
    public var keepIntvl: Int
    public var keepCnt: Int
    public var userTimeoutMs: Int
    /// TCP_SYNCNT reads back 0 when unset: the sysctl tcp_syn_retries then applies.
    public var synCnt: Int
    public var noDelay: Bool

    public init(keepalive: Bool = false, keepIdle: Int = 7200, keepIntvl: Int = 75, keepCnt: Int = 9,
                userTimeoutMs: Int = 0, synCnt: Int = 0, noDelay: Bool = false) {
        self.keepalive = keepalive; self.keepIdle = keepIdle; self.keepIntvl = keepIntvl
        self.keepCnt = keepCnt; self.userTimeoutMs = userTimeoutMs; self.synCnt = synCnt; self.noDelay = noDelay
    }

    /// SYN retries the kernel will use: TCP_SYNCNT if set, else tcp_syn_retries.
    public func synRetries(_ kernel: KernelSettings) -> Int { synCnt > 0 ? synCnt : kernel.tcpSynRetries }

    /// The `settings` object of the JSON contract (units in the keys).
    public func json(source: SocketAddress?) -> [(String, JSONValue)] {
        var b = JSONObjectBuilder()
        b.add("keepalive", keepalive)
        b.add("keepidle_s", keepIdle)
        b.add("keepintvl_s", keepIntvl)
        b.add("keepcnt", keepCnt)
        b.add("user_timeout_ms", userTimeoutMs)
        b.add("syncnt", synCnt == 0 ? JSONValue.null : .int(Int64(synCnt)))
        b.add("nodelay", noDelay)
        if let s = source { b.add("source", s.description) }
        return b.pairs
    }
}
