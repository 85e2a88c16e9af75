import ConnDiagHTTP2
import Testing

/// Collects what the push API reports, header blocks decoded to "name: value" lines.
final class CollectingSink: HTTP2FrameSink {
    var frames: [(type: String, stream: Int32)] = []
    var headers: [[String]?] = []
    var invalid: [String] = []
    var resyncs: [(skipped: Int, offset: Int)] = []
    var stopped: String?

    func decoded(_ result: HTTP2FrameDecoder.Result) {
        switch result {
        case .frame(let f, _):
            frames.append((f.type.name, f.streamID))
            if case .headers(let h) = f.payload { headers.append(h.fields.map { $0.map { "\($0.name): \($0.value)" } }) }
        case .invalid(let reason, _): invalid.append(reason)
        case .resynchronized(let skipped, let offset): resyncs.append((skipped, offset))
        case .stopped(let reason, _): stopped = reason
        default: break
        }
    }

    func decodedData(_ header: HTTP2FrameHeader, dataLength: Int, offset: Int) {
        frames.append(("DATA", header.streamID))
    }

    func decodedHeaders(_ header: HTTP2FrameHeader, priority: HTTP2PrioritySpec?, block: UnsafeRawBufferPointer,
                        offset: Int, decoder: HTTP2FrameDecoder) {
        frames.append(("HEADERS", header.streamID))
        var fields: [String] = []
        let failure = decoder.decodeHeaderBlock(block) { n, v in
            fields.append(String(decoding: n, as: UTF8.self) + ": " + String(decoding: v, as: UTF8.self))
        }
        headers.append(failure == nil ? fields : nil)
    }
}

/// Gaps in a capture's bytes (`skipMissing`) and HPACK table sizes the receiver allowed.
@Suite struct CaptureGapTests {
    static func feed(_ d: HTTP2FrameDecoder, _ bytes: [UInt8], _ sink: CollectingSink) {
        bytes.withUnsafeBytes { d.feed($0, to: sink) }
    }

    static let trailers = frameBytes(type: 1, flags: 0x05, stream: 1, [0x00, 11] + Array("grpc-status".utf8) + [1, 0x30])

    /// A dynamic table size update to 12288 (RFC 7541 §6.3), then :status 200.
    static let resizeThenStatus: [UInt8] = [0x3F, 0xE1, 0x5F, 0x88]

    @Test func tableSizeUpdateUpToTheAdvertisedSizeDecodes() {
        let refused = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        let sink = CollectingSink()
        Self.feed(refused, frameBytes(type: 1, flags: 0x04, stream: 1, Self.resizeThenStatus), sink)
        #expect(sink.headers.first! == nil)  // 12288 > the 4096 nobody raised

        let allowed = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        allowed.allowHeaderTableSize(65_536)
        let sink2 = CollectingSink()
        Self.feed(allowed, frameBytes(type: 1, flags: 0x04, stream: 1, Self.resizeThenStatus), sink2)
        #expect(sink2.headers.first! == [":status: 200"])
    }

    /// A gap inside a DATA payload: nothing but payload lost; the trailers decode.
    @Test func gapInsideDataKeepsTheFraming() {
        let d = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        let sink = CollectingSink()
        let data = frameBytes(type: 0, stream: 1, [UInt8](repeating: 7, count: 100))
        Self.feed(d, Array(data[0..<30]), sink)
        let effect = d.skipMissing(40, to: sink)
        #expect(effect == HTTP2FrameDecoder.GapEffect(framingKept: true, headerStateLost: false))
        Self.feed(d, Array(data[70...]) + Self.trailers, sink)
        #expect(sink.frames.map(\.type) == ["DATA", "HEADERS"])
        #expect(sink.headers.last! == ["grpc-status: 0"])
        #expect(sink.resyncs.isEmpty)
        #expect(d.frameTypeCounts[0] == 1 && d.frameTypeCounts[1] == 1)
    }

    /// A gap that swallows a frame header: decoding resumes at the next header that
    /// validates, the bytes passed over counted exactly, whatever the segmenting after it.
    @Test(arguments: [1, 2, 5, 9, 13, 1000])
    func gapLosingABoundaryResynchronises(pieceSize: Int) {
        let d = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        let sink = CollectingSink()
        let lost = frameBytes(type: 0, stream: 1, [UInt8](repeating: 0xFF, count: 20))
        Self.feed(d, frameBytes(type: 6, stream: 0, [UInt8](repeating: 0, count: 8)), sink)
        // The lost frame's header and 8 payload bytes never arrive; its last 12 do.
        let effect = d.skipMissing(17, to: sink)
        #expect(!effect.framingKept && effect.headerStateLost)
        let after = Array(lost[17...]) + frameBytes(type: 0, stream: 1, [1, 2, 3]) + Self.trailers
        var i = 0
        while i < after.count {
            Self.feed(d, Array(after[i..<min(after.count, i + pieceSize)]), sink)
            i += pieceSize
        }
        #expect(sink.resyncs.count == 1)
        #expect(sink.resyncs.first?.skipped == 12)
        #expect(sink.resyncs.first?.offset == 17 + 17 + 12)
        #expect(d.resyncSkippedBytes == 12)
        #expect(sink.frames.map(\.type) == ["PING", "DATA", "HEADERS"])
        #expect(sink.headers.last! == ["grpc-status: 0"])
        #expect(d.finish() == nil)
    }

    /// A gap inside a HEADERS frame: the block is lost and the HPACK context reset; the
    /// frames after it still decode.
    @Test func gapInsideAHeaderBlockLosesTheHPACKState() {
        let d = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        let sink = CollectingSink()
        let headers = frameBytes(type: 1, flags: 0x04, stream: 1, [0x88] + [UInt8](repeating: 0x88, count: 20))
        Self.feed(d, Array(headers[0..<12]), sink)
        let effect = d.skipMissing(5, to: sink)
        #expect(effect == HTTP2FrameDecoder.GapEffect(framingKept: true, headerStateLost: true))
        Self.feed(d, Array(headers[17...]) + Self.trailers, sink)
        #expect(sink.invalid.contains { $0.contains("lost 5 of its 21 payload bytes") })
        #expect(sink.headers.last! == ["grpc-status: 0"])
    }

    /// Bytes that never show a frame header again: decoding stops once the limit is passed,
    /// and random bytes around gaps never trap.
    @Test func resynchronisationIsBounded() {
        let d = HTTP2FrameDecoder(side: .client, fromConnectionStart: false)
        let sink = CollectingSink()
        d.skipMissing(3, to: sink)
        let junk = [UInt8](repeating: 0xFF, count: 64 << 10)
        for _ in 0..<((HTTP2FrameDecoder.resyncLimit >> 16) + 2) { Self.feed(d, junk, sink) }
        #expect(sink.stopped != nil)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let e = HTTP2FrameDecoder(side: .server, fromConnectionStart: Bool.random())
            for _ in 0..<20 {
                if Int.random(in: 0..<4, using: &generator) == 0 { e.skipMissing(Int.random(in: 1..<100), to: sink) }
                Self.feed(e, (0..<Int.random(in: 0..<64)).map { _ in UInt8.random(in: 0...255) }, sink)
            }
            _ = e.finish()
        }
    }
}

/// The HTTP/1.1 head of an h2c upgrade (RFC 7540 §3.2) and what is not one.
@Suite struct HTTP1HeadTests {
    static func parse(_ text: String) -> HTTP1Head.Parsed {
        Array(text.utf8).withUnsafeBytes { HTTP1Head.parse($0) }
    }

    @Test func upgradeRequestAndItsSettings() throws {
        let text = "GET /eicar HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nPRI"
        guard case .head(let head, let length) = Self.parse(text) else { Issue.record("no head"); return }
        #expect(length == text.utf8.count - 3)
        #expect(head.method == "GET" && head.target == "/eicar")
        #expect(head.lists("upgrade", "h2c") && head.lists("connection", "upgrade"))
        let settings = try #require(HTTP1Head.upgradeSettings(head.field("http2-settings")!))
        // tshark: MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 1073741824, ENABLE_PUSH 0.
        #expect(settings == [HTTP2Setting(.maxConcurrentStreams, 100), HTTP2Setting(.initialWindowSize, 1_073_741_824),
                             HTTP2Setting(.enablePush, 0)])
    }

    @Test func responsesAndOtherBytes() {
        guard case .head(let head, _) = Self.parse("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n") else {
            Issue.record("no head"); return
        }
        #expect(head.statusCode == 101 && head.lists("upgrade", "h2c"))
        #expect(Self.parse("GET / HTTP/1.1\r\nHost: x\r\n") == .needMoreData)
        #expect(Self.parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == .notHTTP1)
        #expect(Self.parse("\u{0}\u{0}\u{12}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}") == .notHTTP1)
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        #expect(!preface.withUnsafeBytes { HTTP1Head.startsLikeRequest($0) })
        #expect(Array("GET /bad.html\r\n".utf8).withUnsafeBytes { HTTP1Head.startsLikeRequest($0) })
        #expect(Array("HTTP/1.0 200 OK\r\n".utf8).withUnsafeBytes { HTTP1Head.startsLikeResponse($0) })
    }
}
