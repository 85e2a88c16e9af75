import Testing
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// Certificates that must not verify, and servers that refuse us: each failure named.
@Suite struct VerificationFailureTests {
    func handshake(certificate: String, serverName: String? = "localhost", caFile: Bool = true,
                   insecure: Bool = false, serverArguments: [String] = []) throws -> (TLSStep, TLSClient) {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: certificate, extra: serverArguments))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let options = TLSOptions(serverName: serverName, caFile: caFile ? fixtures.caFile : nil, insecure: insecure)
        let client = try TLSClient(fd: fd, options: options)
        return (completeHandshake(client), client)
    }

    @Test func expiredCertificate() throws {
        let (step, _) = try handshake(certificate: "expired")
        let failure = try #require(step.failure)
        #expect(failure.reason.hasPrefix("certificate verify failed: certificate has expired (X509 error 10)"), "\(failure.reason)")
        #expect(failure.reason.contains("days ago"))
        #expect(failure.verifyCode == 10)
        let certificate = try #require(failure.peerCertificate)
        #expect(certificate.daysUntilExpiry(now: unixNow()) < -1.9)
        #expect(certificate.serial == "02")
    }

    @Test func wrongHost() throws {
        let (step, _) = try handshake(certificate: "wronghost")
        let failure = try #require(step.failure)
        #expect(failure.reason.lowercased().contains("hostname mismatch"), "\(failure.reason)")
        #expect(failure.reason.contains("asked for localhost, the certificate is for DNS:other.example, DNS:*.other.example"))
        #expect(failure.verifyCode == 62)
    }

    @Test func wrongIPAddress() throws {
        let (step, _) = try handshake(certificate: "leaf", serverName: "127.0.0.2")
        let failure = try #require(step.failure)
        #expect(failure.reason.hasPrefix("certificate verify failed: IP address mismatch (X509 error 64)"), "\(failure.reason)")
    }

    @Test func selfSignedWithoutCAFile() throws {
        let (step, _) = try handshake(certificate: "selfsigned", caFile: false)
        let failure = try #require(step.failure)
        #expect(failure.reason.contains("self-signed certificate"), "\(failure.reason)")
        #expect(failure.verifyCode == 18)
    }

    @Test func privateCAWithoutCAFile() throws {
        let (step, _) = try handshake(certificate: "leaf", caFile: false)
        let failure = try #require(step.failure)
        #expect(failure.reason.contains("unable to get local issuer certificate (X509 error 20)"), "\(failure.reason)")
        #expect(failure.reason.contains("issuer CN=conndiag test CA,O=conndiag tests"))
    }

    @Test func insecureCompletesAndStillReports() throws {
        let (step, client) = try handshake(certificate: "expired", insecure: true)
        let session = try #require(step.session, "handshake failed: \(step.failure?.reason ?? "?")")
        #expect(!session.verified)
        #expect(session.verifyError == "certificate has expired")
        #expect(session.verifyCode == 10)
        #expect(session.peerCertificate?.subject == "CN=localhost,O=conndiag tests")
        _ = client
    }

    @Test func insecureWrongHost() throws {
        let (step, _) = try handshake(certificate: "wronghost", insecure: true)
        let session = try #require(step.session)
        #expect(!session.verified)
        #expect(session.verifyError?.lowercased() == "hostname mismatch")
    }

    /// TLS 1.2: the server's refusal (no client certificate) arrives inside the handshake.
    @Test func serverAlertDuringHandshake() throws {
        let (step, _) = try handshake(certificate: "leaf", serverArguments: ["-tls1_2", "-Verify", "1"])
        let failure = try #require(step.failure)
        #expect(failure.reason == "server sent alert: handshake failure", "\(failure.reason)")
        #expect(failure.alert == "handshake failure")
    }

    /// TLS 1.3: the client's handshake is done before the server checks; the alert ends
    /// the first read.
    @Test func serverAlertAfterTLS13Handshake() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf", extra: ["-Verify", "1"]))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile))
        let step = completeHandshake(client)
        #expect(step.session?.version == "TLSv1.3", "\(step)")
        let (_, end) = readToEnd(client)
        #expect(end == .error("server sent alert: certificate required"))
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { client.read(into: $0) } == .error("server sent alert: certificate required"))
    }
}
