/// One step of a non-blocking handshake: done, or poll the fd for what it asks and call
/// `handshake()` again.
public enum TLSStep: Sendable {
    case done(TLSSessionInfo)
    case wantRead
    case wantWrite
    case failed(TLSFailure)
}
