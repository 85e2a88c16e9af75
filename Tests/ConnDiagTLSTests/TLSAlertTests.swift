import Testing
import ConnDiagCore
import ConnDiagPlatform
import ConnDiagTCP
import ConnDiagHTTP2Engine
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// A fatal TLS alert ends a connection as TLS, never as "the peer reset" (ECONNRESET).
@Suite struct TLSAlertTests {
    @Test func alertReceivedFromThePeerIsTyped() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.openSSL(fixtures, certificate: "leaf"))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile))
        #expect(completeHandshake(client).session != nil)
        // A record the server cannot decrypt, written beside the TLS layer: its OpenSSL
        // answers with a fatal bad_record_mac alert.
        sendAll(fd, [0x17, 0x03, 0x03, 0x00, 0x40] + [UInt8](repeating: 0x5a, count: 64))
        let result = firstReadResult(TLSTransport(client: client), fd: fd)
        #expect(result == .error(.tlsAlert(.received, description: "bad record mac")), "\(result)")
    }

    @Test func badRecordMACSentByTheClientIsTyped() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.corruptingRecords(fixtures, alpn: nil, delay: 0.1))
        defer { server.stop() }
        let fd = try #require(server.connect())
        defer { close(fd) }
        let client = try TLSClient(fd: fd, options: TLSOptions(serverName: "localhost", caFile: fixtures.caFile))
        #expect(completeHandshake(client).session != nil)
        let result = firstReadResult(TLSTransport(client: client), fd: fd)
        #expect(result == .error(.tlsAlert(.sent, description: "bad record mac")), "\(result)")
        #expect(client.transportError?.errno == nil)
    }

    /// The probe over TLS + HTTP/2 against a peer whose record fails its MAC while the
    /// SETTINGS exchange is under way: the outcome names the alert.
    @Test func probeOutcomeNamesTheAlert() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.corruptingRecords(fixtures, alpn: "h2", delay: 0.2))
        defer { server.stop() }
        var config = ProbeConfig(targets: [TargetSpec(host: "127.0.0.1", port: server.port)])
        config.tlsFactory = TLSProbeSession.factory(sni: "localhost", caFile: fixtures.caFile, insecure: false)
        config.h2 = true
        config.phaseTimeout = 5
        let engine = ProbeEngine(config: config)
        _ = try engine.run()
        let result = try #require(engine.results.first)
        #expect(result.alpn == "h2")
        #expect(result.outcome.summary == "closed during the HTTP/2 SETTINGS exchange: TLS alert sent: bad record mac", "\(result.outcome.summary)")
        #expect(result.outcome.errno == nil)
        #expect(result.outcome.mechanism != .peerRst)
        #expect(!result.outcome.summary.contains("ECONNRESET"))
    }

    /// The same during an idle hold (TLS without HTTP/2): the hold ends "by" the alert.
    @Test func probeHoldNamesTheAlert() throws {
        let fixtures = try #require(CertificateFixtures.shared)
        let server = try #require(TestServer.corruptingRecords(fixtures, alpn: nil, delay: 0.3))
        defer { server.stop() }
        var config = ProbeConfig(targets: [TargetSpec(host: "127.0.0.1", port: server.port)])
        config.tlsFactory = TLSProbeSession.factory(sni: "localhost", caFile: fixtures.caFile, insecure: false)
        config.hold = 3
        let engine = ProbeEngine(config: config)
        _ = try engine.run()
        let result = try #require(engine.results.first)
        let closed = try #require(result.hold?.closed)
        #expect(closed.how == .tls("TLS alert sent: bad record mac"))
        #expect(result.outcome.mechanism != .peerRst)
        #expect(!result.outcome.summary.contains("RST"), "\(result.outcome.summary)")
    }
}

/// What the first read that does not would-block returns (within 5 s).
private func firstReadResult(_ transport: TLSTransport, fd: Int32) -> TransportResult {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let deadline = monotonicSeconds() + 5
    var result = TransportResult.wouldBlock
    while monotonicSeconds() < deadline {
        result = buffer.withUnsafeMutableBytes { transport.read(into: $0) }
        if result != .wouldBlock { break }
        _ = poll(fd, for: Int16(POLLIN), untilDeadline: deadline)
    }
    return result
}
