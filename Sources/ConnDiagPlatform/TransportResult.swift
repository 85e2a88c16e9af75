/// The result of one read or write on a `ByteTransport`.
public enum TransportResult: Hashable, Sendable {
    /// That many bytes were read or accepted for writing.
    case bytes(Int)
    /// Nothing now: wait for the descriptor and call again (a write with the same bytes).
    case wouldBlock
    /// The peer ended its stream.
    case eof(TransportEnd)
    case error(TransportError)
}

/// How the peer ended its stream: a TLS close_notify is an orderly end of the TLS stream;
/// a TCP FIN without one (plain sockets always) may be a truncation.
public enum TransportEnd: String, Hashable, Sendable {
    case fin
    case closeNotify = "close_notify"
}
