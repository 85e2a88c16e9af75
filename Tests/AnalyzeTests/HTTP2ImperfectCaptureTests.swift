import ConnDiagAnalyze
import ConnDiagCore
import Testing

/// HTTP/2 frames as bytes, for made-up connections.
enum H2Bytes {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }
    static let settings = frame(4, 0, 0, [])
    static let settingsAck = frame(4, 1, 0, [])
    /// :method GET, :scheme http, :path / (static table only).
    static let get: [UInt8] = [0x82, 0x86, 0x84]
    /// :status 200, content-type application/grpc (literal, not indexed).
    static let ok: [UInt8] = [0x88] + literal("content-type", "application/grpc")
    static func literal(_ name: String, _ value: String) -> [UInt8] {
        [0x00, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
    }
    static func headers(_ stream: UInt32, end: Bool, _ block: [UInt8]) -> [UInt8] { frame(1, 0x04 | (end ? 1 : 0), stream, block) }
    static func data(_ stream: UInt32, _ n: Int, end: Bool = false, byte: UInt8 = 0xEE) -> [UInt8] {
        frame(0, end ? 1 : 0, stream, [UInt8](repeating: byte, count: n))
    }
    static func rst(_ stream: UInt32, _ code: UInt8) -> [UInt8] { frame(3, 0, stream, [0, 0, 0, code]) }
    static func trailers(_ stream: UInt32, grpcStatus: String) -> [UInt8] { headers(stream, end: true, literal("grpc-status", grpcStatus)) }
}

extension SyntheticConnection {
    /// `n` bytes from one side that the capture never saw (the sequence numbers move on).
    mutating func lose(fromClient: Bool, _ n: Int) {
        if fromClient { seq.client &+= UInt32(n) } else { seq.server &+= UInt32(n) }
    }

    /// Handshake, client preface + SETTINGS + a GET on stream 1 (END_STREAM unless
    /// `requestOpen`), server SETTINGS + ACK.
    static func h2Exchange(requestOpen: Bool = false) -> SyntheticConnection {
        var c = SyntheticConnection()
        c.add(fromClient: true, flags: 0x02)
        c.add(fromClient: false, flags: 0x12)
        c.add(fromClient: true, flags: 0x10)
        c.add(fromClient: true, flags: 0x18, H2Bytes.preface + H2Bytes.settings + H2Bytes.headers(1, end: !requestOpen, H2Bytes.get))
        c.add(fromClient: false, flags: 0x18, H2Bytes.settings + H2Bytes.settingsAck)
        return c
    }
}

/// RFC 9113 stream ends and captures with gaps, on made-up connections.
@Suite struct HTTP2ImperfectCaptureTests {
    static func only(_ r: AnalyzeResult) throws -> ConnectionReport { try #require(r.connections.first) }
    static func stream(_ c: ConnectionReport, _ id: Int64) -> JSONValue? { c.streams.first { $0["stream_id"]?.int == id } }
    static func http2(_ c: ConnectionReport) -> JSONValue? { c.details.first { $0.0 == "http2" }?.1 }

    /// DATA still in flight from the client after the server's RST_STREAM: one stream 1,
    /// reset, not a second (ghost) stream 1.
    @Test func framesAfterRSTStreamOpenNoSecondStream() throws {
        var s = SyntheticConnection.h2Exchange(requestOpen: true)
        s.add(fromClient: true, flags: 0x18, H2Bytes.data(1, 100))
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: false, H2Bytes.ok) + H2Bytes.rst(1, 8))
        s.add(fromClient: true, flags: 0x18, H2Bytes.data(1, 100) + H2Bytes.data(1, 0, end: true))
        s.add(fromClient: true, flags: 0x11)
        s.add(fromClient: false, flags: 0x11)
        let c = try Self.only(s.analyze())
        #expect(c.streams.count == 1)
        #expect(Self.stream(c, 1)?["end"]?.string == "reset")
    }

    /// A complete response (END_STREAM) then RST_STREAM(NO_ERROR) while the request was
    /// still open: the server stops the request it no longer needs; completed (RFC 9113 §8.1).
    @Test func completeResponseThenRSTStreamNoErrorIsCompleted() throws {
        var s = SyntheticConnection.h2Exchange(requestOpen: true)
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: false, H2Bytes.ok) + H2Bytes.data(1, 10, end: true) + H2Bytes.rst(1, 0))
        let c = try Self.only(s.analyze())
        #expect(c.streams.count == 1)
        #expect(Self.stream(c, 1)?["end"]?.string == "completed")
        #expect(Self.stream(c, 1)?["http_status"]?.int == 200)
    }

    /// A pushed stream ends with the server's END_STREAM: the client never sends on it.
    @Test func pushedStreamEndingWithEndStreamIsCompleted() throws {
        var s = SyntheticConnection.h2Exchange()
        let promise = H2Bytes.frame(5, 0x04, 1, [0, 0, 0, 2] + H2Bytes.get)
        s.add(fromClient: false, flags: 0x18, promise + H2Bytes.headers(1, end: false, H2Bytes.ok) + H2Bytes.data(1, 10, end: true))
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(2, end: false, H2Bytes.ok) + H2Bytes.data(2, 10, end: true))
        s.add(fromClient: true, flags: 0x11)
        s.add(fromClient: false, flags: 0x11)
        let c = try Self.only(s.analyze())
        #expect(Self.stream(c, 1)?["end"]?.string == "completed")
        #expect(Self.stream(c, 2)?["end"]?.string == "completed")
        #expect(Self.stream(c, 2)?["path"]?.string == "/")
        #expect(c.streams.count == 2)
    }

    /// A lost segment inside a DATA payload: the frame boundaries are kept, the trailers
    /// after it decode, the missing bytes are counted exactly.
    @Test func gapInsideADataPayloadKeepsTheFraming() throws {
        var s = SyntheticConnection.h2Exchange()
        let body = H2Bytes.data(1, 3000)
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: false, H2Bytes.ok) + Array(body[0..<1000]))
        s.lose(fromClient: false, 1000)
        s.add(fromClient: false, flags: 0x18, Array(body[2000...]) + H2Bytes.trailers(1, grpcStatus: "0"))
        s.add(fromClient: true, flags: 0x10)
        s.add(fromClient: true, flags: 0x11)
        s.add(fromClient: false, flags: 0x11)
        let c = try Self.only(s.analyze())
        #expect(Self.stream(c, 1)?["end"]?.string == "completed")
        #expect(Self.stream(c, 1)?["grpc_status"]?.string == "OK")
        let gaps = Self.http2(c)?["capture_gaps"]?["server"]
        #expect(gaps?["missing_bytes"]?.int == 1000)
        #expect(gaps?["resynchronisations"]?.int == 0)
        #expect(!c.findings.contains { $0.kind == "h2-decoding-stopped" })
    }

    /// A lost segment that held a frame header: decoding resumes at the next frame header
    /// that validates (5 bytes of the cut frame's payload passed over, counted exactly), and
    /// the trailers with grpc-status after the gap are found.
    @Test func gapLosingTheFrameBoundariesResynchronises() throws {
        var s = SyntheticConnection.h2Exchange()
        let cut = H2Bytes.data(1, 10, byte: 0xFF)
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: false, H2Bytes.ok) + H2Bytes.data(1, 10))
        s.lose(fromClient: false, 9 + 5)
        s.add(fromClient: false, flags: 0x18, Array(cut[14...]) + H2Bytes.data(1, 10) + H2Bytes.trailers(1, grpcStatus: "14"))
        s.add(fromClient: true, flags: 0x10)
        s.add(fromClient: true, flags: 0x11)
        s.add(fromClient: false, flags: 0x11)
        let c = try Self.only(s.analyze())
        #expect(Self.stream(c, 1)?["end"]?.string == "completed")
        #expect(Self.stream(c, 1)?["grpc_status"]?.string == "UNAVAILABLE")
        let gaps = Self.http2(c)?["capture_gaps"]?["server"]
        #expect(gaps?["missing_bytes"]?.int == 14)
        #expect(gaps?["resynchronisations"]?.int == 1)
        #expect(gaps?["skipped_bytes"]?.int == 5)
        #expect(c.events.contains { $0.kind.rawValue == "h2-resync" })
    }

    /// After a gap the HPACK state is unknown: a block that refers to the dynamic table then
    /// fails, and that is a finding naming the stream, never silence.
    @Test func headerBlockUndecodableAfterAGapIsAFinding() throws {
        var s = SyntheticConnection.h2Exchange()
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: false, H2Bytes.ok))
        s.lose(fromClient: false, 30)
        s.add(fromClient: false, flags: 0x18, H2Bytes.data(1, 10) + H2Bytes.headers(1, end: true, [0xBE]))
        s.add(fromClient: true, flags: 0x10)
        let c = try Self.only(s.analyze())
        let f = try #require(c.findings.first { $0.kind == "hpack-error" })
        #expect(f.summary.contains("stream 1"))
        #expect(f.summary.contains("server"))
    }

    /// A header block that cannot be decoded although the state was known: a warning.
    @Test func undecodableHeaderBlockIsAWarning() throws {
        var s = SyntheticConnection.h2Exchange()
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: true, [0xBE]))
        let c = try Self.only(s.analyze())
        let f = try #require(c.findings.first { $0.kind == "hpack-error" })
        #expect(f.severity == .warning)
        #expect(f.summary.contains("stream 1"))
    }

    /// The lab's grpc drain capture with server segments lost (packets 30, 32 and 40: DATA
    /// frames of the stream, 77 bytes): decoding resynchronises after each, and the trailers
    /// with grpc-status 14 and the verdict are the same as on the whole capture.
    @Test func lostServerSegmentsOfARealStream() throws {
        let (header, recs) = Fixture.records(Fixture.bytes("grpc-drain"))
        let kept = recs.enumerated().filter { ![29, 31, 39].contains($0.offset) }.flatMap { $0.element }
        let r = try Fixture.analyze(path: Fixture.temporary(header + kept))
        let c = try Self.only(r)
        #expect(c.outcome.mechanism == .goawayGraceExpired)
        #expect(Self.stream(c, 1)?["grpc_status"]?.string == "UNAVAILABLE")
        let gaps = Self.http2(c)?["capture_gaps"]?["server"]
        #expect(gaps?["missing_bytes"]?.int == 77)
        #expect(gaps?["skipped_bytes"]?.int == 0)
    }

    /// A capture without the handshake that still holds the client preface is decoded from
    /// the preface on: settings and the HPACK state are known.
    @Test func midConnectionCaptureWithThePreface() throws {
        var s = SyntheticConnection.h2Exchange()
        s.add(fromClient: false, flags: 0x18, H2Bytes.headers(1, end: true, H2Bytes.ok))
        s.packets.removeFirst(3)
        let c = try Self.only(s.analyze())
        #expect(c.midConnection)
        #expect(Self.http2(c)?["from_connection_start"] == .bool(true))
        #expect(Self.stream(c, 1)?["method"]?.string == "GET")
        #expect(Self.stream(c, 1)?["end"]?.string == "completed")
    }

    /// An HTTP/1.1 request answered without an upgrade is not HTTP/2, even on a port named
    /// by --http2-port; nothing is read as a frame header.
    @Test func plainHTTP1IsNotHTTP2() throws {
        var s = SyntheticConnection()
        s.add(fromClient: true, flags: 0x02)
        s.add(fromClient: false, flags: 0x12)
        s.add(fromClient: true, flags: 0x10)
        s.add(fromClient: true, flags: 0x18, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        s.add(fromClient: false, flags: 0x18, Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".utf8))
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: [], http2Ports: [8080]))
        for p in s.packets {
            p.bytes.withUnsafeBytes { engine.feed($0, linkType: .ethernet, timestampNanos: p.nanos, originalLength: p.bytes.count) }
        }
        let c = try Self.only(engine.finish())
        #expect(c.protocolName == "tcp")
        #expect(!c.events.contains { $0.source == .h2 })
    }
}
