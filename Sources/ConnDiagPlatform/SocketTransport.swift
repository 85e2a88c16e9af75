import Glibc

/// The plain socket as a byte transport: recv/send through the funnel. Does not own the
/// descriptor (whoever opened it closes it).
public final class SocketTransport: ByteTransport {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult {
        switch Syscall.result("recv", { recv(fd, buffer.baseAddress, buffer.count, 0) }) {
        case .value(0): return .eof(.fin)
        case .value(let n): return .bytes(n)
        case .wouldBlock, .interrupted: return .wouldBlock
        case .error(let e): return .error(.socket(e))
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult {
        switch Syscall.result("send", { send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }) {
        case .value(let n): return .bytes(n)
        case .wouldBlock, .interrupted: return .wouldBlock
        case .error(let e): return .error(.socket(e))
        }
    }
}
