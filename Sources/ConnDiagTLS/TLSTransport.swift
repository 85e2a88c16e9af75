import ConnDiagPlatform

/// A TLS client as a byte transport: application data in and out, with TLS failures
/// typed apart from socket errors. Wraps a client whose handshake is done.
public final class TLSTransport: ByteTransport {
    public let client: TLSClient

    public init(client: TLSClient) { self.client = client }

    public var fd: Int32 { client.fd }

    public var hasBufferedBytes: Bool { client.hasBufferedData }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
        switch client.read(into: buffer) {
        case .bytes(let n): return .bytes(n)
        case .wantRead, .wantWrite: return .wouldBlock
        case .eof: return .eof(client.receivedCloseNotify ? .closeNotify : .fin)
        case .error(let reason): return .error(client.transportError ?? .tls(reason))
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult {
        switch client.write(bytes) {
        case .bytes(let n): return .bytes(n)
        case .wantRead, .wantWrite: return .wouldBlock
        case .eof: return .eof(.fin)
        case .error(let reason): return .error(client.transportError ?? .tls(reason))
        }
    }
}
