import ConnDiagCore

/// A server's GOAWAY drain (gRPC A9: GOAWAY(2^31-1) + PING, the real last-stream-id after
/// the PING ACK, then the close when the streams end or the grace period expires), as
/// `GoawayDrainDiagnoser` found it.
public struct GoawayDrain: Sendable {
    public enum GraceExpiry: String, Sendable {
        /// grpc C-core: trailers grpc-status 14 + RST_STREAM, then FIN.
        case trailersAndReset = "the server ended the open streams with trailers (grpc-status) and RST_STREAM, then closed"
        /// Other servers: the TCP connection closes under the streams.
        case connectionClosedUnderStreams = "the server closed the TCP connection with streams still open (clients see an I/O error)"
    }

    public var first: GoawayEvidence
    /// The GOAWAY with the real last-stream-id after a drain announcement.
    public var second: GoawayEvidence?
    public var isDouble: Bool { second != nil }
    /// From the connection's start to the first GOAWAY (nil mid-connection).
    public var connectionAge: Double?
    /// From the GOAWAY with the real last-stream-id to the close (nil while open).
    public var grace: Double?
    /// Streams the drain cut short (open when the grace period expired).
    public var cutShort: [StreamEvidence]
    /// How those streams ended, when there were any.
    public var graceExpiry: GraceExpiry?
    /// Streams started after the GOAWAY that the server did not process.
    public var refused: Int
    /// The first non-empty debug data of the server's GOAWAYs.
    public var debug: String
    public var diagnosis: Diagnosis
}
