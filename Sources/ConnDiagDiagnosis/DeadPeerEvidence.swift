import ConnDiagCore

/// The socket options that decide when a dead peer is found, as read back from the socket.
public struct DeadPeerSettings: Sendable, Equatable {
    public var keepalive: Bool
    public var keepIdle: Int
    public var keepIntvl: Int
    public var keepCnt: Int
    public var userTimeoutMs: Int

    public init(keepalive: Bool, keepIdle: Int, keepIntvl: Int, keepCnt: Int, userTimeoutMs: Int) {
        self.keepalive = keepalive; self.keepIdle = keepIdle; self.keepIntvl = keepIntvl
        self.keepCnt = keepCnt; self.userTimeoutMs = userTimeoutMs
    }

    public var userTimeout: Double { Double(userTimeoutMs) / 1000 }
}

/// How a watched connection ended, as the application saw it.
public struct WatchEnd: Sendable, Equatable {
    public enum How: Sendable, Equatable {
        /// read() returned 0.
        case eof
        /// A socket call failed with this errno.
        case socketError(Int32)
        /// The HTTP/2 PING sent at `sentAt` got no ACK in time (gRPC A8).
        case h2PingTimeout(sentAt: Double)
        case h2ProtocolError(String)
    }
    public var at: Double
    public var how: How
    public init(at: Double, how: How) { self.at = at; self.how = how }
}

/// The HTTP/2 PING keepalive in force on the watched connection (gRPC A8).
public struct H2KeepaliveFacts: Sendable, Equatable {
    /// ping-time and ping-timeout, when PING keepalive is on.
    public var pingTime: Double?
    public var pingTimeout: Double?
    /// The last byte read from the peer: the PING timer's base.
    public var lastReadAt: Double
    public var pingsSent: Int

    public init(pingTime: Double?, pingTimeout: Double?, lastReadAt: Double, pingsSent: Int) {
        self.pingTime = pingTime; self.pingTimeout = pingTimeout; self.lastReadAt = lastReadAt; self.pingsSent = pingsSent
    }
}

/// Everything known about an established connection that was watched until something ended
/// it: the typed evidence `DeadPeerDiagnoser` decides from.
public struct DeadPeerEvidence: Sendable {
    public var established: Double
    /// nil when the watch stopped first (`--for` elapsed, or an interrupt).
    public var end: WatchEnd?
    public var stopAt: Double
    public var interrupted: Bool
    public var settings: DeadPeerSettings
    /// The flow's packets, classified (time order not required).
    public var wire: [FlowObservation]
    /// TCP_INFO samples taken when a counter that matters changed.
    public var tcpInfo: [TCPInfoSample]
    /// The first sample with `retransmits > 0`: the first RTO retransmission (a tail-loss
    /// probe before it does not count).
    public var firstRetransmitSampleAt: Double?
    /// A fault that silences the flow was injected (the lab's cut).
    public var flowCut: Bool
    public var h2: H2KeepaliveFacts?

    public init(established: Double, end: WatchEnd?, stopAt: Double, interrupted: Bool, settings: DeadPeerSettings,
                wire: [FlowObservation], tcpInfo: [TCPInfoSample], firstRetransmitSampleAt: Double? = nil,
                flowCut: Bool = false, h2: H2KeepaliveFacts? = nil) {
        self.established = established; self.end = end; self.stopAt = stopAt; self.interrupted = interrupted
        self.settings = settings; self.wire = wire; self.tcpInfo = tcpInfo
        self.firstRetransmitSampleAt = firstRetransmitSampleAt; self.flowCut = flowCut; self.h2 = h2
    }
}
