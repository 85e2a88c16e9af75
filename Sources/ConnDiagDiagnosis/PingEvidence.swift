/// A PING that never got its ACK.
public struct PingEvidence: Sendable, Equatable {
    public var sentAt: Double
    public var from: HTTP2Side

    public init(sentAt: Double, from: HTTP2Side) {
        self.sentAt = sentAt
        self.from = from
    }
}
