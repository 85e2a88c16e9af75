/// A send window used up while the receiver stopped reading (no WINDOW_UPDATE).
public struct FlowControlStall: Sendable, Equatable {
    /// The side whose DATA waits.
    public var sender: HTTP2Side
    public var since: Double
    public var until: Double
    /// Still stalled when the observation ended.
    public var ongoing: Bool
    /// The stream whose window is used up, or 0 for the connection window.
    public var scope: Int32
    public var bytesWaiting: Int
    /// Window sizes known from SETTINGS (false: inferred, the capture began mid-connection).
    public var windowKnown: Bool
    /// PINGs answered during the stall: the receiver is alive, just not reading.
    public var pingsAnswered: Int
    /// The receiver's last WINDOW_UPDATE for that scope before the stall ended.
    public var receiverLastUpdate: Double?

    public init(sender: HTTP2Side, since: Double, until: Double, ongoing: Bool, scope: Int32, bytesWaiting: Int,
                windowKnown: Bool, pingsAnswered: Int, receiverLastUpdate: Double?) {
        self.sender = sender
        self.since = since
        self.until = until
        self.ongoing = ongoing
        self.scope = scope
        self.bytesWaiting = bytesWaiting
        self.windowKnown = windowKnown
        self.pingsAnswered = pingsAnswered
        self.receiverLastUpdate = receiverLastUpdate
    }

    public var duration: Double { until - since }
}
