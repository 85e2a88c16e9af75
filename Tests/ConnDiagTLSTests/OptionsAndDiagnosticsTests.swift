import Testing
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// Option errors thrown by init, and the pure helpers behind the failure texts.
@Suite struct OptionsAndDiagnosticsTests {
    func initFailure(_ options: TLSOptions) -> TLSFailure? {
        do {
            _ = try TLSClient(fd: -1, options: options)
            return nil
        } catch let failure as TLSFailure {
            return failure
        } catch {
            return nil
        }
    }

    @Test func missingCAFile() {
        let failure = initFailure(TLSOptions(caFile: "/nonexistent/ca.pem"))
        #expect(failure?.reason == "cannot read CA file /nonexistent/ca.pem: No such file or directory (ENOENT)")
    }

    @Test func caFileWithoutCertificates() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let failure = initFailure(TLSOptions(caFile: fixtures.directory + "/make_certs.py"))
        #expect(failure?.reason.hasPrefix("cannot load CA file \(fixtures.directory)/make_certs.py: ") == true, "\(String(describing: failure))")
    }

    @Test func alpnNameTooLong() {
        let failure = initFailure(TLSOptions(alpn: [String(repeating: "x", count: 256)]))
        #expect(failure?.reason == "invalid ALPN protocol name \"\(String(repeating: "x", count: 256))\" (must be 1 to 255 bytes)")
        #expect(initFailure(TLSOptions(alpn: [""])) != nil)
    }

    @Test func unwritableKeyLogFile() {
        let failure = initFailure(TLSOptions(keyLogFile: "/nonexistent/keys.log"))
        #expect(failure?.reason == "cannot open key log file /nonexistent/keys.log: No such file or directory (ENOENT)")
    }

    @Test func defaultsAndEnvironment() {
        let options = TLSOptions()
        #expect(options.alpn == ["h2", "http/1.1"])
        #expect(options.serverName == nil && options.caFile == nil && !options.insecure && options.keyLogFile == nil)
        // SSLKEYLOGFILE is read at call time; an empty value counts as unset.
        let saved = getenv("SSLKEYLOGFILE").map { String(cString: $0) }
        defer { if let saved { setenv("SSLKEYLOGFILE", saved, 1) } else { unsetenv("SSLKEYLOGFILE") } }
        setenv("SSLKEYLOGFILE", "", 1)
        #expect(TLSOptions.environmentKeyLogFile == nil)
        setenv("SSLKEYLOGFILE", "/tmp/keys", 1)
        #expect(TLSOptions.environmentKeyLogFile == "/tmp/keys")
    }

    @Test func nonTLSDescriptions() {
        #expect(TLSClient.describeNonTLS(head: []) == nil)
        #expect(TLSClient.describeNonTLS(head: [0x16, 0x03, 0x03, 0x00, 0x10]) == nil)
        #expect(TLSClient.describeNonTLS(head: [0x15]) == nil)
        #expect(TLSClient.describeNonTLS(head: Array("SSH-2.0-OpenSSH_9.2\r\n".utf8))
                == "the peer sent \"SSH-2.0-OpenSSH_9.2\" (an SSH server)")
        #expect(TLSClient.describeNonTLS(head: [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0])?.contains("HTTP/2 GOAWAY frame") == true)
        #expect(TLSClient.describeNonTLS(head: [0x16, 0x01, 0x00]) == "the peer sent bytes 16 01 00 (not a TLS record)")
    }

    @Test func certificateDates() {
        #expect(utcText(0) == "1970-01-01 00:00:00 UTC")
        #expect(utcText(951_782_400) == "2000-02-29 00:00:00 UTC")
        #expect(utcText(4_102_444_799) == "2099-12-31 23:59:59 UTC")
        #expect(utcText(-1) == "1969-12-31 23:59:59 UTC")
        let certificate = TLSCertificateInfo(subject: "CN=a", issuer: "CN=b", sans: [], notBefore: 0, notAfter: 86_400 * 10,
                                             serial: "01", signatureAlgorithm: "x")
        #expect(certificate.daysUntilExpiry(now: 86_400 * 4) == 6)
        #expect(certificate.daysUntilExpiry(now: 86_400 * 11) == -1)
        #expect(certificate.isExpired(now: 86_400 * 11) && !certificate.isExpired(now: 5))
    }

    @Test func verifyErrorStrings() {
        #expect(TLSClient.verifyErrorText(10) == "certificate has expired")
        #expect(TLSClient.verifyErrorText(18) == "self-signed certificate")
        #expect(TLSClient.verifyErrorText(62).lowercased() == "hostname mismatch")
    }
}
