import Testing
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// read()/write() after the handshake, on the caller's non-blocking fd with poll.
@Suite struct ApplicationDataTests {
    @Test func http10RequestToOpenSSLWWW() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf"))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile))
        #expect(completeHandshake(client).session?.verified == true)

        #expect(writeAll(client, Array("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)) == nil)
        let (bytes, end) = readToEnd(client)
        let response = String(decoding: bytes, as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.0 200 ok\r\n"), "\(response.prefix(80))")
        #expect(response.contains("s_server"))
        #expect(end == .eof)
        #expect(client.socketBytesReceived > UInt64(bytes.count))
        // Once at EOF, it stays there.
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { client.read(into: $0) } == .eof)
        client.shutdown()
        client.shutdown()
    }

    @Test func ioBeforeTheHandshakeIsRefused() throws {
        let listener = try #require(Listener())
        defer { listener.close() }
        let (client, server) = try #require(listener.connectedPair())
        defer { close(client); close(server) }
        let tls = try TLSClient(fd: client, options: TLSOptions())
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { tls.read(into: $0) } == .error("the TLS handshake has not completed"))
        #expect(buffer.withUnsafeBytes { tls.write($0) } == .error("the TLS handshake has not completed"))
        tls.shutdown()   // harmless
    }

    @Test func writeAfterPeerResetReportsTheErrno() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf"))
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile))
        #expect(completeHandshake(client).session != nil)
        server.stop()   // SIGKILL: the kernel closes the server's socket
        // The first writes may still be accepted; keep writing until the RST arrives. No
        // SIGPIPE may kill the test process (the socket BIO sends with MSG_NOSIGNAL).
        let chunk = [UInt8](repeating: 0x41, count: 16_384)
        let deadline = monotonicSeconds() + 5
        var outcome: TLSIOResult = .bytes(0)
        while monotonicSeconds() < deadline {
            outcome = chunk.withUnsafeBytes { client.write($0) }
            if case .error = outcome { break }
            if case .wantWrite = outcome { _ = poll(fd, for: Int16(POLLOUT), untilDeadline: deadline) }
            usleep(10_000)
        }
        guard case .error(let message) = outcome else {
            Issue.record("writes kept succeeding: \(outcome)")
            return
        }
        #expect(message == "broken pipe (EPIPE)" || message == "connection reset by peer (ECONNRESET)", "\(message)")
    }
}
