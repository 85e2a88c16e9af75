/// The result of one `TLSClient.read` or `write`.
public enum TLSIOResult: Sendable, Equatable {
    /// That many bytes were read (decrypted) or accepted for writing.
    case bytes(Int)
    /// Nothing now: poll the fd for readability (a TLS read or write can need either)
    /// and call again; a write must be retried with the same bytes.
    case wantRead
    case wantWrite
    /// The peer ended the stream: close_notify (`TLSClient.receivedCloseNotify`) or a
    /// bare TCP FIN without one.
    case eof
    /// A fatal error, one line; the connection is unusable afterwards.
    case error(String)
}
