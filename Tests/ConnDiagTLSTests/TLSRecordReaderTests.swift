import ConnDiagTLS
import Testing

/// The record reader on bytes: records fed whole, byte by byte and split at every boundary
/// give the same records; broken input stops it with a reason, never a crash.
@Suite struct TLSRecordReaderTests {
    final class Collector: TLSRecordSink {
        var records: [(TLSContentType, Int, [UInt8])] = []
        var stops: [String] = []
        var sslv2: [TLSProtocolVersion] = []
        func wantsPayload(of type: TLSContentType) -> Bool { type != .applicationData }
        func record(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer) { records.append((header.type, header.length, Array(payload))) }
        func sslv2ClientHello(version: TLSProtocolVersion, length: Int) { sslv2.append(version) }
        func stopped(reason: String) { stops.append(reason) }
    }

    /// A handshake record holding a ClientHello split over two records, an alert, and
    /// application data (RFC 8446 §5.1 layout).
    static let hello: [UInt8] = {
        // ClientHello body: version, random, empty session id, one suite, null compression,
        // extensions: SNI "a.example", ALPN h2, supported_versions 1.3 and 1.2.
        var ext: [UInt8] = []
        let name = Array("a.example".utf8)
        ext += [0, 0, 0, UInt8(name.count + 5), 0, UInt8(name.count + 3), 0, 0, UInt8(name.count)] + name
        ext += [0, 16, 0, 5, 0, 3, 2] + Array("h2".utf8)
        ext += [0, 43, 0, 5, 4, 3, 4, 3, 3]
        var body: [UInt8] = [3, 3] + [UInt8](repeating: 7, count: 32) + [0, 0, 2, 0x13, 0x01, 1, 0]
        body += [UInt8(ext.count >> 8), UInt8(ext.count & 0xff)] + ext
        return [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }()

    static var stream: [UInt8] {
        let h = hello
        let cut = 10
        var s: [UInt8] = [22, 3, 1, 0, UInt8(cut)] + h[..<cut]
        s += [22, 3, 1, UInt8((h.count - cut) >> 8), UInt8((h.count - cut) & 0xff)] + h[cut...]
        s += [21, 3, 3, 0, 2, 2, 48]
        s += [23, 3, 3, 0, 4, 9, 9, 9, 9]
        return s
    }

    func read(_ pieces: [[UInt8]]) -> Collector {
        let c = Collector()
        let r = TLSRecordReader()
        for p in pieces { p.withUnsafeBytes { r.feed($0, to: c) } }
        return c
    }

    @Test func recordsAreTheSameHoweverTheBytesAreSplit() throws {
        let s = Self.stream
        let whole = read([s])
        #expect(whole.records.map { $0.0 } == [.handshake, .handshake, .alert, .applicationData])
        #expect(whole.records[3].2.isEmpty, "application data is skipped, not copied")
        #expect(whole.stops.isEmpty)
        let bytewise = read(s.map { [$0] })
        #expect(bytewise.records.map { $0.2 } == whole.records.map { $0.2 })
        for cut in 1..<s.count {
            let two = read([Array(s[..<cut]), Array(s[cut...])])
            #expect(two.records.map { $0.2 } == whole.records.map { $0.2 }, "split at \(cut)")
            #expect(two.records.map { $0.1 } == whole.records.map { $0.1 })
        }
    }

    @Test func theHandshakeMessageIsJoinedAcrossRecordsAndParsed() throws {
        let c = read([Self.stream])
        let h = TLSHandshakeReader()
        var hello: TLSClientHello?
        for r in c.records where r.0 == .handshake {
            r.2.withUnsafeBytes { p in
                h.append(p) { type, body in
                    if type == .clientHello { hello = try? TLSClientHello(body) }
                }
            }
        }
        let ch = try #require(hello)
        #expect(ch.serverName == "a.example")
        #expect(ch.alpn == ["h2"])
        #expect(ch.supportedVersions == [.tls13, .tls12])
        #expect(ch.cipherSuites == [TLSCipherSuite(0x1301)])
        let alert = try #require(c.records[2].2.withUnsafeBytes { TLSAlert($0) })
        #expect(alert.level == .fatal && alert.name == "unknown_ca")
    }

    @Test func brokenInputStopsTheReaderWithAReason() {
        // Not TLS at all, an absurd length, an empty handshake record, a bad version.
        for bad: [UInt8] in [Array("GET / HTTP/1.1\r\n".utf8), [23, 3, 3, 0xff, 0xff], [22, 3, 3, 0, 0], [22, 9, 9, 0, 1, 1]] {
            let c = read([bad, [1, 2, 3]])
            #expect(c.stops.count == 1, "\(bad)")
            #expect(c.records.isEmpty)
        }
        // Good records, then garbage: the records before it are kept.
        let c = read([Self.stream + [0x47, 0x45, 0x54, 0x20, 0x2f]])
        #expect(c.records.count == 4 && c.stops.count == 1)
        #expect(c.stops[0].contains("after 4 records"))
    }

    @Test func malformedHelloBodiesAreRejectedNotOverread() {
        let h = Self.hello
        let body = Array(h[4...])
        for n in 0..<body.count {
            let cut = Array(body[..<n])
            let parsed = cut.withUnsafeBytes { try? TLSClientHello($0) }
            // Only cuts at the end of the compression methods (no extensions) may parse.
            if parsed != nil { #expect(n == 2 + 32 + 1 + 4 + 2) }
        }
    }

    @Test func anSSLv2CompatibleHelloIsNotedAndSkipped() {
        // SSLv2 CLIENT-HELLO (RFC 5246 E.2) offering TLS 1.0: length 0x1f, then a TLS record.
        var v2: [UInt8] = [0x80, 0x1f, 1, 3, 1, 0, 6, 0, 0, 0, 16]
        v2 += [UInt8](repeating: 0, count: 6) + [UInt8](repeating: 1, count: 16)
        let c = read([v2 + [22, 3, 1, 0, 4, 14, 0, 0, 0]])
        #expect(c.sslv2 == [.tls10])
        #expect(c.stops.isEmpty)
        #expect(c.records.map { $0.0 } == [.handshake])
    }
}
