/// What one HTTP/2 connection showed, whichever source saw it (the live client session or
/// a capture): the input of every HTTP/2 diagnoser.
public struct HTTP2Evidence: Sendable {
    /// When the connection started (its SYN or connect), nil when the capture began later.
    public var connectionStartedAt: Double?
    public var goaways: [GoawayEvidence] = []
    public var rstStreams: [RSTStreamEvidence] = []
    /// PINGs sent by the client (keepalives, and the PINGs gRPC sends with WINDOW_UPDATEs).
    public var clientPingsSent = 0
    public var unansweredPings: [PingEvidence] = []
    public var streams: [StreamEvidence] = []
    public var stalls: [FlowControlStall] = []
    /// The TCP end, nil while the connection was still open when the observation ended.
    public var close: ConnectionClose?
    /// When and how the observation ended ("the run", "the capture").
    public var observedUntil: Double
    public var observation: String
    /// The PING timeout the client was configured with, when known (live runs).
    public var pingTimeout: Double?

    public init(observedUntil: Double, observation: String) {
        self.observedUntil = observedUntil
        self.observation = observation
    }
}
