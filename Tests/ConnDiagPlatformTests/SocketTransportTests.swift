import Testing
import Glibc
import SystemPackage
import ConnDiagPlatform

@Suite struct SocketTransportTests {
    func socketPair() -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    @Test func bytesWouldBlockAndFIN() {
        let (a, b) = socketPair()
        defer { close(a) }
        let ta = SocketTransport(fd: a), tb = SocketTransport(fd: b)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { ta.read(into: $0) } == .wouldBlock)
        #expect([UInt8]("abc".utf8).withUnsafeBytes { tb.write($0) } == .bytes(3))
        #expect(buffer.withUnsafeMutableBytes { ta.read(into: $0) } == .bytes(3))
        close(b)
        #expect(buffer.withUnsafeMutableBytes { ta.read(into: $0) } == .eof(.fin))
    }

    @Test func aSocketErrorIsTypedAndNamed() {
        let (a, b) = socketPair()
        defer { close(a) }
        close(b)
        let result = [UInt8]("x".utf8).withUnsafeBytes { SocketTransport(fd: a).write($0) }
        guard case .error(let e) = result else { Issue.record("expected EPIPE, got \(result)"); return }
        #expect(e == .socket(SyscallError("send", .brokenPipe)))
        #expect(e.errno == EPIPE)
        #expect(e.description == "broken pipe (EPIPE)")
    }

    @Test func tlsFailuresAreNotErrnos() {
        let alert = TransportError.tlsAlert(.sent, description: "bad record mac")
        #expect(alert.errno == nil)
        #expect(alert.description == "TLS alert sent: bad record mac")
    }
}
