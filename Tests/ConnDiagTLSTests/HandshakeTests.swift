import Testing
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// Verified handshakes against real servers (openssl s_server, nghttpd) on loopback.
@Suite struct HandshakeTests {
    @Test func verifiedHandshakeReportsSessionCertificateAndKeyLog() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf", extra: ["-alpn", "http/1.1"]))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let keyLog = fixtures.directory + "/keylog-\(getpid())-\(fd).txt"
        defer { unlink(keyLog) }

        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile, keyLogFile: keyLog))
        let step = completeHandshake(client)
        let session = try #require(step.session, "handshake failed: \(step.failure?.reason ?? "?")")

        #expect(["TLSv1.3", "TLSv1.2"].contains(session.version))
        #expect(!session.cipher.isEmpty && session.cipher != "unknown")
        #expect(session.alpn == "http/1.1")
        #expect(session.verified)
        #expect(session.verifyError == nil)
        #expect(session.verifyCode == 0)
        #expect(session.chainLength == 1)
        #expect(client.session == session)

        let certificate = try #require(session.peerCertificate)
        #expect(certificate.subject == "CN=localhost,O=conndiag tests")
        #expect(certificate.issuer == "CN=conndiag test CA,O=conndiag tests")
        #expect(certificate.sans == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
        #expect(certificate.serial == CertificateFixtures.leafSerialHex)
        #expect(certificate.signatureAlgorithm == "ecdsa-with-SHA256")
        let now = unixNow()
        let days = certificate.daysUntilExpiry(now: now)
        #expect(days > Double(CertificateFixtures.leafLifetimeDays) - 0.1 && days <= Double(CertificateFixtures.leafLifetimeDays))
        #expect(certificate.notBefore < now && now - certificate.notBefore < 86_400 + 600)

        // NSS key log: TLS 1.3 writes traffic secrets, TLS 1.2 a CLIENT_RANDOM line.
        let lines = try #require(readFile(keyLog)).split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("CLIENT_HANDSHAKE_TRAFFIC_SECRET ") || $0.hasPrefix("CLIENT_RANDOM ") })
        #expect(lines.allSatisfy { $0.split(separator: " ").count == 3 })
        var info = stat()
        #expect(stat(keyLog, &info) == 0 && info.st_mode & 0o777 == 0o600)
        client.shutdown()
    }

    @Test func nghttpdNegotiatesH2OverALPN() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.nghttpd(fixtures))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }

        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile))
        let step = completeHandshake(client)
        let session = try #require(step.session, "handshake failed: \(step.failure?.reason ?? "?")")
        #expect(session.alpn == "h2")
        #expect(session.version == "TLSv1.3")
        #expect(session.verified)
        #expect(session.peerCertificate?.subject == "CN=localhost,O=conndiag tests")

        // The server speaks HTTP/2 at once: its SETTINGS frame arrives through read().
        let deadline = monotonicSeconds() + 5
        var buffer = [UInt8](repeating: 0, count: 4096)
        var received: [UInt8] = []
        while received.count < 9 {
            let result = buffer.withUnsafeMutableBytes { client.read(into: $0) }
            switch result {
            case .bytes(let n): received += buffer[..<n]
            case .wantRead: if !poll(fd, for: Int16(POLLIN), untilDeadline: deadline) { Issue.record("no SETTINGS"); return }
            case .wantWrite: if !poll(fd, for: Int16(POLLOUT), untilDeadline: deadline) { Issue.record("no SETTINGS"); return }
            case .eof, .error: Issue.record("read ended: \(result)"); return
            }
        }
        #expect(received[3] == 0x04, "first frame type \(received[3]), expected SETTINGS")
        client.shutdown()
    }

    @Test(arguments: ["127.0.0.1", "[127.0.0.1]", "localhost.", nil] as [String?])
    func serverNameFormsVerify(_ name: String?) throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf"))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: name, caFile: fixtures.caFile))
        let step = completeHandshake(client)
        let session = try #require(step.session, "handshake failed: \(step.failure?.reason ?? "?")")
        #expect(session.verified)
        #expect(session.alpn == nil)   // s_server without -alpn selects none
    }

    @Test func tls12HandshakeWritesClientRandom() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf", extra: ["-tls1_2"]))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let keyLog = fixtures.directory + "/keylog12-\(getpid())-\(fd).txt"
        defer { unlink(keyLog) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile, keyLogFile: keyLog))
        let step = completeHandshake(client)
        let session = try #require(step.session, "handshake failed: \(step.failure?.reason ?? "?")")
        #expect(session.version == "TLSv1.2")
        #expect(session.cipher.hasPrefix("ECDHE-ECDSA-"))
        #expect(try #require(readFile(keyLog)).hasPrefix("CLIENT_RANDOM "))
    }
}
