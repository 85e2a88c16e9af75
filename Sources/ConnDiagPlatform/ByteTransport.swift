/// A non-blocking byte stream over a connected socket: the plain socket itself, or TLS.
/// Readiness comes from the reactor on `fd`; reads and writes never block.
public protocol ByteTransport: AnyObject {
    /// The socket underneath, for the reactor.
    var fd: Int32 { get }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult
    func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult
    /// Bytes already read from the socket and held inside the transport (TLS records
    /// decrypted ahead): the descriptor will not signal them again.
    var hasBufferedBytes: Bool { get }
}

extension ByteTransport {
    public var hasBufferedBytes: Bool { false }
}
