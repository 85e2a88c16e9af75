import Testing
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// Peers that are not TLS servers, or that die mid-handshake: a clear one-line failure,
/// never a crash or a hang.
@Suite struct BrokenPeerTests {
    /// A scripted peer inside the test: `script` gets the server side once the client has
    /// sent its ClientHello.
    func handshake(against script: (Int32) -> Void) throws -> TLSFailure? {
        let listener = try #require(Listener())
        defer { listener.close() }
        let (client, server) = try #require(listener.connectedPair())
        defer { close(client) }
        var serverOpen = true
        defer { if serverOpen { close(server) } }
        let tls = try TLSClient(fd: client, options: TLSOptions(serverName: "localhost"))
        guard case .wantRead = tls.handshake() else {
            Issue.record("expected want-read after the ClientHello")
            return nil
        }
        script(server)
        serverOpen = fcntl(server, F_GETFD) != -1
        return completeHandshake(tls, seconds: 5).failure
    }

    @Test func plainHTTPServer() throws {
        let failure = try #require(try handshake { server in
            _ = receiveSome(server)
            sendAll(server, Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
        })
        #expect(failure.reason.hasPrefix("not a TLS server: the peer sent \"HTTP/1.1 400 Bad Request\" (a plain HTTP server)"),
                "\(failure.reason)")
        #expect(!failure.reason.contains("\n"))
    }

    @Test func cleartextHTTP2Server() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.nghttpd(fixtures, tls: false))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost"))
        let failure = try #require(completeHandshake(client).failure)
        #expect(failure.reason.hasPrefix("not a TLS server: the peer sent an HTTP/2 SETTINGS frame"), "\(failure.reason)")
    }

    @Test func peerClosesWithoutAnswering() throws {
        let failure = try #require(try handshake { server in
            _ = receiveSome(server)   // read the ClientHello so close() sends FIN, not RST
            close(server)
        })
        #expect(failure.reason == "peer closed the connection during the handshake without answering the ClientHello")
    }

    @Test func peerResetsTheConnection() throws {
        let failure = try #require(try handshake { server in
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(server, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(server)
        })
        #expect(failure.reason == "connection reset by peer during the handshake (ECONNRESET)")
        #expect(failure.errno == ECONNRESET)
    }

    @Test func peerClosesAfterPartOfAServerHello() throws {
        let failure = try #require(try handshake { server in
            _ = receiveSome(server)
            sendAll(server, [0x16, 0x03, 0x03, 0x00, 0x40, 0x02, 0x00, 0x00, 0x3c, 0x03, 0x03])
            close(server)
        })
        #expect(failure.reason == "peer closed the connection during the handshake after sending 11 bytes")
    }

    @Test func peerSendsAnAlertRecord() throws {
        let failure = try #require(try handshake { server in
            _ = receiveSome(server)
            sendAll(server, [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])   // fatal protocol_version
        })
        #expect(failure.reason == "server sent alert: protocol version")
        #expect(failure.alert == "protocol version")
    }

    @Test func binaryGarbage() throws {
        let failure = try #require(try handshake { server in
            _ = receiveSome(server)
            sendAll(server, [0x00, 0x01, 0x02, 0xff, 0xfe, 0x10, 0x20, 0x30, 0x40, 0x50])
        })
        #expect(failure.reason.hasPrefix("not a TLS server: the peer sent bytes 00 01 02 ff fe 10 20 30 ... (not a TLS record)"),
                "\(failure.reason)")
    }

    /// Random replies, some shaped like TLS records: every one ends in a failure with a
    /// one-line reason (and no crash, no hang).
    @Test func randomRepliesNeverCrash() throws {
        var generator = SplitMix64(seed: 0x7e57)
        for round in 0..<60 {
            var reply = (0..<Int.random(in: 1...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 3 == 0 {
                reply = [0x16, 0x03, 0x03, UInt8(reply.count >> 8), UInt8(reply.count & 0xff)] + reply
            } else if round % 3 == 1 {
                reply = [0x16, 0x03, 0x03, 0x00, UInt8(min(reply.count, 255)), 0x02] + reply
            }
            let failure = try handshake { server in
                _ = receiveSome(server)
                sendAll(server, reply)
                shutdown(server, Int32(SHUT_WR))
            }
            let reason = try #require(failure?.reason, "round \(round)")
            #expect(!reason.isEmpty && !reason.contains("\n"), "round \(round): \(reason)")
            #expect(!reason.hasPrefix("test:"), "round \(round) hung: \(reason)")
        }
    }
}
