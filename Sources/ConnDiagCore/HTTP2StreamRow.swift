/// One HTTP/2 stream of a run as the per-stream table shows it: when it opened and ended, how
/// it ended, and the status each client family would report. The engine that writes the
/// `streams` JSON fills it from the same records, so the table needs no JSON.
public struct HTTP2StreamRow: Sendable {
    /// nil for a stream that was never sent (the connection was draining).
    public var streamID: Int?
    /// Seconds since the run started, rounded as in the JSON.
    public var openedAt: Double
    public var endedAt: Double?
    /// `completed`, `reset`, `refused`, `killed` or `open`.
    public var end: String
    /// Client family (`grpc-go`, `grpc-java`, `grpc-core`, `proxy`) and the status it reports.
    public var clientStatuses: [(family: String, status: String)]
    /// What the wire showed.
    public var detail: String

    public init(streamID: Int?, openedAt: Double, endedAt: Double?, end: String,
                clientStatuses: [(family: String, status: String)], detail: String) {
        self.streamID = streamID; self.openedAt = openedAt; self.endedAt = endedAt; self.end = end
        self.clientStatuses = clientStatuses; self.detail = detail
    }

    /// The status a client family reports, nil when the row has none for it.
    public func status(of family: String) -> String? { clientStatuses.first { $0.family == family }?.status }
}
