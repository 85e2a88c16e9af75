import ConnDiagHTTP2

/// One stream: when it opened and ended, and how.
public struct StreamEvidence: Sendable, Equatable {
    public var id: Int32
    public var openedAt: Double
    public var endedAt: Double?
    public var end: StreamEnd
    /// Who reset the stream, and when (RST_STREAM), if anyone did.
    public var resetBy: HTTP2Side?
    public var resetAt: Double?

    public init(id: Int32, openedAt: Double, endedAt: Double?, end: StreamEnd, resetBy: HTTP2Side? = nil, resetAt: Double? = nil) {
        self.id = id
        self.openedAt = openedAt
        self.endedAt = endedAt
        self.end = end
        self.resetBy = resetBy
        self.resetAt = resetAt
    }

    /// The end's short name: completed, reset, refused, killed, open.
    public var endName: String { end.described(openDetail: "").how }

    /// Trailers (grpc-status) arrived before the stream ended.
    public var endedWithTrailers: Bool {
        switch end {
        case .completed(_, let g, _): return g != nil
        case .reset(_, let t): return t != nil
        default: return false
        }
    }

    /// Ended by a drain that ran out of time after `goawayAt`: the connection closed under
    /// it, the server reset it, or its trailers said UNAVAILABLE (grpc C-core at grace expiry).
    func cutShort(byDrainAfter goawayAt: Double) -> Bool {
        if case .killedByConnectionClose = end { return true }
        if case .reset = end, resetBy == .server, (resetAt ?? endedAt ?? 0) >= goawayAt { return true }
        if case .completed(_, let g?, _) = end, g == .unavailable, (endedAt ?? 0) >= goawayAt { return true }
        return false
    }
}
