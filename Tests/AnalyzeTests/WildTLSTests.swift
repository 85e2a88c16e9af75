import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Testing

/// zeek's signed_certificate_timestamp-2.pcap: one TLS 1.2 connection to :443 with ALPN h2.
/// Expectations from tshark on the same file:
///   tshark -r F -Y tls.handshake -T fields -e tls.handshake.type -e tls.handshake.extensions_server_name
///     -e tls.handshake.extensions_alpn_str -e tls.handshake.ciphersuite -e tls.record.version
///     → ClientHello SNI ritter.vg, ALPN h2,http/1.1; ServerHello ALPN h2, cipher 0xc02f, 0x0303 and no
///       supported_versions (TLS 1.2); Certificate, CertificateStatus, ServerKeyExchange, ServerHelloDone
///   tshark -r F -Y tls -T fields -e ip.src -e tls.record.content_type -e tls.record.length
///     → client 8 records (1070 bytes with headers), 5 of them after its ChangeCipherSpec (Finished + 4
///       application data); server 9 records (5446 bytes), 2 after its ChangeCipherSpec
///   tshark ... -e x509sat.uTF8String -e x509ce.dNSName → leaf ritter.vg, O "Tom Ritter, LLC"
@Suite struct WildTLSTests {
    let file = Fixture.wild("zeek-tls-h2-alpn.pcap")

    @Test func theHandshakeFactsAreReadFromTheRecordLayer() throws {
        let r = try Fixture.analyze(path: file)
        #expect(r.connections.count == 1)
        let c = try #require(r.connections.first)
        #expect(c.protocolName == "tls")
        #expect(c.protocolDetail == "TLS 1.2, SNI ritter.vg, ALPN h2")
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["version"] == .string("TLS 1.2"))
        #expect(tls["sni"] == .string("ritter.vg"))
        #expect(tls["alpn_offered"] == .array([.string("h2"), .string("http/1.1")]))
        #expect(tls["alpn"] == .string("h2"))
        #expect(tls["cipher_suite"] == .string("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))
        let subject = try #require(tls["certificate_subject"]?.string)
        #expect(subject.hasPrefix("CN=ritter.vg,"), "\(subject)")
        #expect(subject.contains("O=Tom Ritter\\, LLC"))
        #expect(tls["handshake_complete"] == .bool(true))
        #expect(tls["alerts"] == .array([]))
        #expect(tls["records_client"]?.int == 8)
        #expect(tls["bytes_client"]?.int == 1070)
        #expect(tls["encrypted_records_client"]?.int == 5)
        #expect(tls["records_server"]?.int == 9)
        #expect(tls["bytes_server"]?.int == 5446)
        #expect(tls["encrypted_records_server"]?.int == 2)
        // The handshake messages in wire order, as tshark lists their types (1; 2; 11,22,12,14; 16; 4).
        let types = c.events("tls-handshake").compactMap { $0.field("handshake_type")?.string }
        #expect(types == ["ClientHello", "ServerHello", "Certificate", "CertificateStatus", "ServerKeyExchange",
                          "ServerHelloDone", "ClientKeyExchange", "NewSessionTicket"])
    }

    @Test func theEncryptedHTTP2IsSaidAndNotJudged() throws {
        let r = try Fixture.analyze(path: file)
        let c = try #require(r.connections.first)
        #expect(c.outcome.mechanism != .tlsAlert)
        #expect(c.findings.contains { $0.kind == "tls-encrypted" && $0.summary.contains("application data is encrypted (TLS 1.2, ALPN h2): its HTTP/2 cannot be judged without a key log") })
        #expect(!c.details.contains { $0.0 == "http2" })
        #expect(r.findings.allSatisfy { $0.severity < .warning })
    }

    @Test func withHTTP2PortItIsStillTLSNeverFrameGarbage() throws {
        let r = try Fixture.analyze(path: file) { $0.http2Ports = [443] }
        let c = try #require(r.connections.first)
        #expect(c.protocolName == "tls")
        #expect(!c.details.contains { $0.0 == "http2" })
        #expect(!c.findings.contains { $0.kind.hasPrefix("h2") })
        #expect(c.findings.contains { $0.kind == "tls-encrypted" && $0.summary.contains("encrypted HTTP/2") })
        #expect(!c.outcome.summary.contains("not HTTP/2"))
    }

    @Test func midConnectionTheRecordsAreStillRecognised() throws {
        // Without packets 1-14 (SYN to the client's ChangeCipherSpec flight) the client's bytes
        // begin with application data records (tshark: 23 in 15-18) and the server's with its
        // NewSessionTicket, CCS, Finished (19): TLS from the record layer alone, no version.
        let cut = Fixture.cut2(file, droppingFirst: 14)
        let r = try Fixture.analyze(path: cut)
        let c = try #require(r.connections.first)
        #expect(c.protocolName == "tls")
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["version"] == .null)
        #expect(tls["decoding_stopped"] == nil)
    }
}

extension Fixture {
    /// `cut(_:droppingFirst:)` for a file given by path.
    static func cut2(_ path: String, droppingFirst n: Int) -> String {
        let (header, recs) = records(Array(FileManager.default.contents(atPath: path)!))
        return temporary(header + recs.dropFirst(n).flatMap { $0 })
    }
}
