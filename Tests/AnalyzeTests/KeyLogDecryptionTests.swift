import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Testing

/// `analyze` with a key log on recorded sessions (Fixtures/make-tls-keylog.sh: curl --http2
/// against nghttpd, TLS 1.2 AES-128-GCM and TLS 1.3 TLS_AES_128_GCM_SHA256). Every expected
/// number is tshark's reading of the same file with the same key log:
///   tshark -r F.pcap -o tls.keylog_file:F.keys -d tcp.port==8443,tls -Y http2 \
///          -T fields -e tcp.srcport -e http2.type -e http2.streamid -e http2.headers.status
/// gives, for both captures, client SETTINGS 2, WINDOW_UPDATE 1, HEADERS 2; server SETTINGS
/// 2, HEADERS 2, DATA 2; :status 200 on stream 1 and 404 on stream 3; and
/// `-Y tls.alert_message` a fatal (2) decode_error (50) from the server after the client's
/// FIN. `-Y tls.handshake.type==8 -e tls.handshake.extensions_alpn_str` gives h2 for TLS 1.3.
struct KeyLogDecryptionTests {
    static func file(_ name: String, _ ext: String) -> String {
        Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures")!.path
    }

    static func analyze(_ capture: String, ext: String = "pcap", keyLog: String?) throws -> ConnectionReport {
        var o = AnalyzeOptions(files: [file(capture, ext)])
        if let keyLog { o.keyLogFiles = [keyLog] }
        let r = try AnalyzeEngine(options: o).run()
        try #require(r.connections.count == 1)
        return r.connections[0]
    }

    static let tsharkFrames: JSONValue = .object([
        ("client", .object([("HEADERS", .int(2)), ("SETTINGS", .int(2)), ("WINDOW_UPDATE", .int(1))])),
        ("server", .object([("DATA", .int(2)), ("HEADERS", .int(2)), ("SETTINGS", .int(2))])),
    ])

    func expectDecryptedExchange(_ c: ConnectionReport) throws {
        #expect(c.protocolName == "http2")
        let h2 = try #require(c.details.first { $0.0 == "http2" }?.1)
        #expect(h2["frames"] == KeyLogDecryptionTests.tsharkFrames)
        #expect(c.streams.map { $0["stream_id"] } == [.int(1), .int(3)])
        #expect(c.streams.map { $0["http_status"] } == [.int(200), .int(404)])
        // The decrypted alert is exact; sent after the client's FIN it is not the verdict.
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        guard case .array(let alerts)? = tls["alerts"] else { Issue.record("no alerts array"); return }
        #expect(alerts.map { $0["description"] } == [.string("decode_error")])
        #expect(c.findings.contains { $0.kind == "tls-alert-after-close" })
        #expect(c.outcome.mechanism != .tlsAlert)
        #expect(!c.findings.contains { $0.kind == "tls-encrypted" || $0.kind == "tls-keylog-mismatch" })
        #expect(tls["decryption"]?["decrypted"] == .bool(true))
    }

    @Test func tls12AES128GCM() throws {
        let c = try Self.analyze("tls12-keylog", keyLog: Self.file("tls12-keylog", "keys"))
        try expectDecryptedExchange(c)
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["cipher_suite"] == .string("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))
        #expect(c.protocolDetail == "TLS 1.2, SNI tls.cdtest, ALPN h2")
    }

    @Test func tls13AES128GCMWithALPNFromEncryptedExtensions() throws {
        let c = try Self.analyze("tls13-keylog", keyLog: Self.file("tls13-keylog", "keys"))
        try expectDecryptedExchange(c)
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["alpn"] == .string("h2"))
        #expect(tls["alpn_note"] == nil)
        #expect(tls["hello_retry_request"] == .bool(true))
        #expect(c.protocolDetail == "TLS 1.3, SNI tls.cdtest, ALPN h2")
        #expect(c.events.contains { $0.kind == "tls-handshake" && $0.detail.contains("EncryptedExtensions (decrypted), ALPN h2") })
    }

    @Test func secretsBlockInPcapngDecryptsWithoutKeyLogOption() throws {
        let c = try Self.analyze("tls13-keylog-dsb", ext: "pcapng", keyLog: nil)
        try expectDecryptedExchange(c)
    }

    @Test func withoutKeyLogTheConnectionStaysTLS() throws {
        let c = try Self.analyze("tls13-keylog", keyLog: nil)
        #expect(c.protocolName == "tls")
        #expect(c.details.first { $0.0 == "http2" } == nil)
        #expect(c.findings.contains { $0.kind == "tls-encrypted" && $0.summary.contains("give --keylog") })
    }

    @Test func wrongSecretsAreAFindingNeverFrames() throws {
        // The same client random with other secrets: a key log from another run.
        let text = try String(contentsOfFile: Self.file("tls13-keylog", "keys"), encoding: .utf8)
        let wrong = text.split(separator: "\n").map { line -> String in
            var f = line.split(separator: " ").map(String.init)
            f[2] = String(repeating: "5a", count: f[2].count / 2)
            return f.joined(separator: " ")
        }.joined(separator: "\n") + "\n"
        let path = Fixture.temporary(Array(wrong.utf8), suffix: ".keys")
        defer { unlink(path) }
        let c = try Self.analyze("tls13-keylog", keyLog: path)
        #expect(c.protocolName == "tls")
        #expect(c.details.first { $0.0 == "http2" } == nil)
        let f = try #require(c.findings.first { $0.kind == "tls-keylog-mismatch" })
        #expect(f.severity == .warning)
        #expect(f.summary.contains("the key log's secrets for this connection do not decrypt its records"))
        #expect(!c.findings.contains { $0.kind == "tls-encrypted" })
    }

    @Test func truncatedKeyLogIsANamedProblemAndTheRestIsUsed() throws {
        let text = try String(contentsOfFile: Self.file("tls12-keylog", "keys"), encoding: .utf8)
        // CRLF, a comment, a blank line, then a line cut while it was written.
        let cut = "# curl\r\n\r\n" + text.replacingOccurrences(of: "\n", with: "\r\n") + "CLIENT_RANDOM 5f3a9c"
        let path = Fixture.temporary(Array(cut.utf8), suffix: ".keys")
        defer { unlink(path) }
        var o = AnalyzeOptions(files: [Self.file("tls12-keylog", "pcap")])
        o.keyLogFiles = [path]
        let r = try AnalyzeEngine(options: o).run()
        let problem = try #require(r.inputProblems.first { $0.contains("could not be used") })
        #expect(problem.contains("1 line could not be used (line 4: CLIENT_RANDOM has 1 field, not 2"))
        #expect(problem.contains("the last line has no newline"))
        try expectDecryptedExchange(r.connections[0])
    }

    @Test func missingApplicationSecretStopsOnlyThatSide() throws {
        let text = try String(contentsOfFile: Self.file("tls13-keylog", "keys"), encoding: .utf8)
        let partial = text.split(separator: "\n").filter { !$0.hasPrefix("CLIENT_TRAFFIC_SECRET_0") }.joined(separator: "\n") + "\n"
        let path = Fixture.temporary(Array(partial.utf8), suffix: ".keys")
        defer { unlink(path) }
        let c = try Self.analyze("tls13-keylog", keyLog: path)
        #expect(c.findings.contains { $0.summary.contains("no CLIENT_TRAFFIC_SECRET_0") })
        let h2 = try #require(c.details.first { $0.0 == "http2" }?.1)
        #expect(h2["frames"]?["server"] == KeyLogDecryptionTests.tsharkFrames["server"])
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["alpn"] == .string("h2"), "the server's handshake still decrypts")
    }

    /// The server's fourth TLS segment (its SETTINGS ACK record) with the last byte of its
    /// tag flipped: the first two server records open, that one fails, and the server's
    /// HTTP/2 ends there instead of decoding garbage; the client side is untouched.
    @Test func damagedRecordStopsThatSideOnly() throws {
        var bytes = Array(FileManager.default.contents(atPath: Self.file("tls12-keylog", "pcap"))!)
        var off = 24, n = 0
        while off + 16 <= bytes.count {
            let caplen = Int(bytes[off + 8]) | Int(bytes[off + 9]) << 8 | Int(bytes[off + 10]) << 16 | Int(bytes[off + 11]) << 24
            let pkt = off + 16
            let ihl = Int(bytes[pkt + 14] & 15) * 4, tcp = pkt + 14 + ihl
            let sport = Int(bytes[tcp]) << 8 | Int(bytes[tcp + 1]), doff = Int(bytes[tcp + 12] >> 4) * 4
            if sport == 8443 && caplen > 14 + ihl + doff { n += 1; if n == 4 { bytes[pkt + caplen - 1] ^= 0xff } }
            off = pkt + caplen
        }
        let path = Fixture.temporary(bytes)
        defer { unlink(path) }
        var o = AnalyzeOptions(files: [path])
        o.keyLogFiles = [Self.file("tls12-keylog", "keys")]
        let c = try AnalyzeEngine(options: o).run().connections[0]
        let f = try #require(c.findings.first { $0.kind == "tls-decryption-stopped" })
        #expect(f.summary.contains("record 3 from the server fails authentication after 2 decrypted"))
        #expect(c.findings.contains { $0.kind == "h2-decoding-stopped" })
        let h2 = try #require(c.details.first { $0.0 == "http2" }?.1)
        #expect(h2["frames"]?["client"] == KeyLogDecryptionTests.tsharkFrames["client"])
        #expect(h2["frames"]?["server"] == .object([("SETTINGS", .int(1))]))
    }

    @Test func keyLogFileThatCannotBeOpenedIsBadInput() throws {
        var o = AnalyzeOptions(files: [Self.file("tls12-keylog", "pcap")])
        o.keyLogFiles = ["/nonexistent/keys.log"]
        #expect(throws: ConnDiagError.self) { try AnalyzeEngine(options: o).run() }
    }
}
