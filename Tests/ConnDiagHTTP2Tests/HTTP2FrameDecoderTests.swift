import Testing
import ConnDiagHTTP2

// Fixtures: one frame each, annotated field by field.

let settingsFixture = hex("""
    00 00 12          # length 18
    04                # type SETTINGS
    00                # flags
    00 00 00 00       # stream 0
    00 03 00 00 00 64 # MAX_CONCURRENT_STREAMS 100
    00 04 00 00 ff ff # INITIAL_WINDOW_SIZE 65535
    00 05 00 00 40 00 # MAX_FRAME_SIZE 16384
    """)

let settingsAckFixture = hex("00 00 00  04  01  00 00 00 00") // SETTINGS, ACK, no payload

let pingFixture = hex("""
    00 00 08 06 00 00 00 00 00  # PING, length 8, stream 0
    01 02 03 04 05 06 07 08     # opaque data
    """)

let pingAckFixture = hex("""
    00 00 08 06 01 00 00 00 00  # PING with ACK
    01 02 03 04 05 06 07 08
    """)

let goAwayFixture = hex("""
    00 00 16          # length 22
    07 00 00 00 00 00 # GOAWAY, no flags, stream 0
    00 00 00 03       # last stream id 3
    00 00 00 0b       # ENHANCE_YOUR_CALM
    74 6f 6f 5f 6d 61 6e 79 5f 70 69 6e 67 73 # debug data "too_many_pings"
    """)

let rstStreamFixture = hex("""
    00 00 04 03 00 00 00 00 05  # RST_STREAM, stream 5
    00 00 00 08                 # CANCEL
    """)

let windowUpdateFixture = hex("""
    00 00 04 08 00 00 00 00 00  # WINDOW_UPDATE, stream 0
    80 0f 00 01                 # reserved bit set (ignored), increment 983041
    """)

let paddedDataFixture = hex("""
    00 00 08 00 09 00 00 00 01  # DATA, END_STREAM|PADDED, stream 1
    02                          # pad length 2
    68 69 6a 6b 6c              # "hijkl"
    00 00                       # padding
    """)

// RFC 7541 Appendix C.3: three requests on one connection, no Huffman coding.
let rfcRequest1 = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")
let rfcRequest2 = hex("8286 84be 5808 6e6f 2d63 6163 6865") // 0xbe = dynamic index 62
let rfcRequest3 = hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")
// RFC 7541 Appendix C.4: the same requests with Huffman coding.
let rfcHuffman1 = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")
let rfcHuffman2 = hex("8286 84be 5886 a8eb 1064 9cbf")
let rfcHuffman3 = hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")

let rfcFields1 = [HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", "/"),
                  HTTP2Header(":authority", "www.example.com")]
let rfcFields2 = rfcFields1 + [HTTP2Header("cache-control", "no-cache")]
let rfcFields3 = [HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "https"), HTTP2Header(":path", "/index.html"),
                  HTTP2Header(":authority", "www.example.com"), HTTP2Header("custom-key", "custom-value")]

/// HEADERS with END_STREAM|END_HEADERS carrying `block`.
func headersFrame(stream: UInt32, _ block: [UInt8]) -> [UInt8] {
    frameBytes(type: 1, flags: 0x05, stream: stream, block)
}

func expectedHeaders(stream: Int32, _ block: [UInt8], _ fields: [HTTP2Header]?, reason: String? = nil) -> HTTP2Frame {
    HTTP2Frame(streamID: stream, flags: [.endStream, .endHeaders], length: block.count,
               payload: .headers(.init(fields: fields, endStream: true, undecodableReason: reason)))
}

/// Decodes `bytes` cut every way and expects the same results each time.
func verify(_ bytes: [UInt8], side: HTTP2FrameDecoder.Side = .server, fromConnectionStart: Bool = false,
            expect expected: [HTTP2FrameDecoder.Result], sourceLocation: SourceLocation = #_sourceLocation) {
    for (label, chunks) in splits(of: bytes) {
        let results = decode(chunks, side: side, fromConnectionStart: fromConnectionStart)
        #expect(results == expected, "\(label)", sourceLocation: sourceLocation)
        if results != expected { return }
    }
}

@Suite struct HTTP2FrameDecoderTests {
    @Test func settings() {
        verify(settingsFixture, expect: [.frame(HTTP2Frame(streamID: 0, length: 18, payload: .settings(ack: false, [
            HTTP2Setting(.maxConcurrentStreams, 100), HTTP2Setting(.initialWindowSize, 65535),
            HTTP2Setting(.maxFrameSize, 16384),
        ])), offset: 0)])
        verify(settingsAckFixture, expect: [
            .frame(HTTP2Frame(streamID: 0, flags: .ack, length: 0, payload: .settings(ack: true, [])), offset: 0),
        ])
    }

    @Test func ping() {
        verify(pingFixture + pingAckFixture, expect: [
            .frame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 0x0102_0304_0506_0708)), offset: 0),
            .frame(HTTP2Frame(streamID: 0, flags: .ack, length: 8, payload: .ping(ack: true, opaque: 0x0102_0304_0506_0708)), offset: 17),
        ])
    }

    @Test func goAwayWithDebugData() {
        verify(goAwayFixture, expect: [.frame(HTTP2Frame(streamID: 0, length: 22, payload: .goAway(
            lastStreamID: 3, errorCode: .enhanceYourCalm, debugData: Array("too_many_pings".utf8))), offset: 0)])
        guard case let .frame(frame, _)? = decode([goAwayFixture]).first else {
            Issue.record("no frame")
            return
        }
        #expect(frame.description == "GOAWAY stream=0 last_stream_id=3 ENHANCE_YOUR_CALM debug=\"too_many_pings\"")
    }

    @Test func rstStream() {
        verify(rstStreamFixture, expect: [
            .frame(HTTP2Frame(streamID: 5, length: 4, payload: .rstStream(.cancel)), offset: 0),
        ])
    }

    @Test func windowUpdate() {
        verify(windowUpdateFixture, expect: [
            .frame(HTTP2Frame(streamID: 0, length: 4, payload: .windowUpdate(increment: 983_041)), offset: 0),
        ])
    }

    @Test func paddedData() {
        verify(paddedDataFixture, expect: [.frame(HTTP2Frame(streamID: 1, flags: [.endStream, .padded], length: 8,
                                                             payload: .data(length: 5, endStream: true, padded: true)), offset: 0)])
    }

    @Test func headersWithHPACKSharingTheDynamicTable() {
        let plain = headersFrame(stream: 1, rfcRequest1) + headersFrame(stream: 3, rfcRequest2) + headersFrame(stream: 5, rfcRequest3)
        let o2 = 9 + rfcRequest1.count, o3 = o2 + 9 + rfcRequest2.count
        verify(plain, side: .client, expect: [
            .frame(expectedHeaders(stream: 1, rfcRequest1, rfcFields1), offset: 0),
            .frame(expectedHeaders(stream: 3, rfcRequest2, rfcFields2), offset: o2),
            .frame(expectedHeaders(stream: 5, rfcRequest3, rfcFields3), offset: o3),
        ])
        let huffman = headersFrame(stream: 1, rfcHuffman1) + headersFrame(stream: 3, rfcHuffman2) + headersFrame(stream: 5, rfcHuffman3)
        let h2 = 9 + rfcHuffman1.count, h3 = h2 + 9 + rfcHuffman2.count
        verify(huffman, side: .client, expect: [
            .frame(expectedHeaders(stream: 1, rfcHuffman1, rfcFields1), offset: 0),
            .frame(expectedHeaders(stream: 3, rfcHuffman2, rfcFields2), offset: h2),
            .frame(expectedHeaders(stream: 5, rfcHuffman3, rfcFields3), offset: h3),
        ])
    }

    @Test func headersSplitAcrossContinuation() {
        let bytes = frameBytes(type: 1, flags: 0x01, stream: 1, Array(rfcHuffman1[..<6])) // HEADERS, END_STREAM only
            + frameBytes(type: 9, flags: 0x00, stream: 1, Array(rfcHuffman1[6..<10]))     // CONTINUATION
            + frameBytes(type: 9, flags: 0x04, stream: 1, Array(rfcHuffman1[10...]))      // CONTINUATION, END_HEADERS
        verify(bytes, side: .client, expect: [
            .frame(HTTP2Frame(streamID: 1, flags: .endStream, length: 6,
                              payload: .headers(.init(fields: rfcFields1, endStream: true, endHeaders: false))), offset: 0),
            .frame(HTTP2Frame(streamID: 1, length: 4, payload: .continuation(endHeaders: false)), offset: 15),
            .frame(HTTP2Frame(streamID: 1, flags: .endHeaders, length: rfcHuffman1.count - 10,
                              payload: .continuation(endHeaders: true)), offset: 28),
        ])
    }

    @Test func headersWithPaddingAndPriority() {
        let payload = [2] + hex("80 00 00 03  0f") + rfcRequest1 + [0, 0] // pad 2, exclusive dep 3, weight 16
        let bytes = frameBytes(type: 1, flags: 0x2d, stream: 1, payload)
        verify(bytes, side: .client, expect: [.frame(HTTP2Frame(
            streamID: 1, flags: [.endStream, .endHeaders, .padded, .priority], length: payload.count,
            payload: .headers(.init(fields: rfcFields1, endStream: true, padded: true,
                                    priority: HTTP2PrioritySpec(dependency: 3, weight: 16, exclusive: true)))), offset: 0)])
    }

    @Test func clientPrefaceAndSettingsFromConnectionStart() {
        let bytes = HTTP2Defaults.clientPreface + settingsAckFixture + headersFrame(stream: 1, rfcRequest1)
        verify(bytes, side: .client, fromConnectionStart: true, expect: [
            .preface(offset: 0),
            .frame(HTTP2Frame(streamID: 0, flags: .ack, length: 0, payload: .settings(ack: true, [])), offset: 24),
            .frame(expectedHeaders(stream: 1, rfcRequest1, rfcFields1), offset: 33),
        ])
    }

    @Test func midConnectionHeadersReferencingTheDynamicTableAreNotDecodable() {
        // The capture starts after request 1, so index 62 (":authority") was never seen.
        let results = decode([headersFrame(stream: 3, rfcRequest2), headersFrame(stream: 5, rfcRequest1)], side: .client)
        #expect(results.count == 2)
        guard case let .frame(frame, 0) = results.first, case let .headers(headers) = frame.payload else {
            Issue.record("expected a HEADERS frame, got \(results)")
            return
        }
        #expect(headers.fields == nil)
        #expect(headers.undecodableReason?.contains("HPACK") == true)
        #expect(headers.endStream)
        // The context was reset, so a later self-contained block decodes again.
        #expect(results.last == .frame(expectedHeaders(stream: 5, rfcRequest1, rfcFields1), offset: 9 + rfcRequest2.count))
    }

    @Test func afterAFailedBlockLaterReferencesToLostEntriesFailInsteadOfDecodingWrongly() {
        // Block A (fails: index 62 unknown) would also have inserted "cache-control: no-cache".
        // Block B references it at index 62 -> must not decode to something else.
        let blockA = hex("be 5808 6e6f 2d63 6163 6865")
        let blockB = hex("82 be")
        let results = decode([headersFrame(stream: 1, blockA), headersFrame(stream: 3, blockB)], side: .client)
        for result in results {
            guard case let .frame(frame, _) = result, case let .headers(headers) = frame.payload else {
                Issue.record("unexpected \(result)")
                continue
            }
            #expect(headers.fields == nil)
        }
    }

    @Test func truncatedInputIsReportedByFinish() {
        let bytes = goAwayFixture
        #expect(decode([Array(bytes[..<5])]) == [.truncated(reason: "input ended inside a frame header (5 of 9 bytes)", offset: 0)])
        #expect(decode([Array(bytes[..<12])]) == [.truncated(reason: "input ended inside a GOAWAY frame (3 of 22 payload bytes)", offset: 0)])
        #expect(decode([Array(HTTP2Defaults.clientPreface[..<10])], side: .client, fromConnectionStart: true)
                == [.truncated(reason: "input ended inside the client preface (10 of 24 bytes)", offset: 0)])
        let open = frameBytes(type: 1, flags: 0x01, stream: 1, Array(rfcRequest1[..<4]))
        let results = decode([open], side: .client)
        #expect(results.count == 1)
        if case let .truncated(reason, offset)? = results.first {
            #expect(reason.contains("no END_HEADERS"))
            #expect(offset == 0)
        } else {
            Issue.record("expected truncated, got \(results)")
        }
    }

    @Test func malformedFixedSizeFramesAreInvalidAndDecodingContinues() {
        let shortPing = frameBytes(type: 6, stream: 0, [1, 2, 3, 4, 5, 6, 7])
        verify(shortPing + rstStreamFixture, expect: [
            .invalid(reason: "FRAME_SIZE_ERROR: PING frame length 7, expected 8", offset: 0),
            .frame(HTTP2Frame(streamID: 5, length: 4, payload: .rstStream(.cancel)), offset: 16),
        ])
        let zeroWindow = frameBytes(type: 8, stream: 1, [0, 0, 0, 0])
        verify(zeroWindow, expect: [
            .frame(HTTP2Frame(streamID: 1, length: 4, payload: .windowUpdate(increment: 0)), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: WINDOW_UPDATE with increment 0", offset: 0),
        ])
        let pingOnStream = frameBytes(type: 6, stream: 3, [0, 0, 0, 0, 0, 0, 0, 1])
        verify(pingOnStream, expect: [
            .frame(HTTP2Frame(streamID: 3, length: 8, payload: .ping(ack: false, opaque: 1)), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: PING frame on stream 3, must be stream 0", offset: 0),
        ])
        let badPadding = frameBytes(type: 0, flags: 0x08, stream: 1, [9, 1, 2])
        verify(badPadding, expect: [
            .invalid(reason: "PROTOCOL_ERROR: DATA pad length 9 exceeds the payload (3 bytes)", offset: 0),
        ])
    }

    @Test func oversizedFramesAreFlaggedAndUnbelievableOnesStop() {
        let big = frameBytes(type: 0, stream: 1, [UInt8](repeating: 7, count: 20_000))
        #expect(decode([big]) == [
            .frame(HTTP2Frame(streamID: 1, length: 20_000, payload: .data(length: 20_000, endStream: false, padded: false)), offset: 0),
            .invalid(reason: "FRAME_SIZE_ERROR: DATA frame length 20000 on stream 1 exceeds the client's SETTINGS_MAX_FRAME_SIZE 16384", offset: 0),
        ])
        #expect(decode([big], maxFrameSize: 32_768).count == 1)
        let results = decode([rstStreamFixture + big], frameSizeLimit: 16_384)
        #expect(results.count == 2)
        #expect(results.last == .stopped(reason: "DATA frame length 20000 exceeds the limit of 16384 bytes; frame boundaries lost", offset: 13))
    }

    @Test func notHTTP2IsDetectedAtConnectionStart() {
        let http1 = Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8)
        let results = decode([http1], side: .server, fromConnectionStart: true)
        #expect(decode([Array("GET / HTTP/1.1\r\n".utf8)], side: .client, fromConnectionStart: true) == [
            .stopped(reason: "client bytes do not start with the HTTP/2 connection preface; they begin \"GET / HTTP/1.1\\r\\n\"", offset: 0)])
        #expect(results.count == 1)
        if case let .stopped(reason, 0)? = results.first {
            #expect(reason.contains("not SETTINGS"))
            #expect(reason.contains("HTTP/1.1 400"))
        } else {
            Issue.record("expected stopped, got \(results)")
        }
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for (label, chunks) in splits(of: request) {
            // Stops as soon as a byte differs; the quoted prefix is whatever had arrived.
            let clientResults = decode(chunks, side: .client, fromConnectionStart: true)
            guard clientResults.count == 1, case let .stopped(reason, 0) = clientResults[0] else {
                Issue.record("\(label): \(clientResults)")
                break
            }
            #expect(reason.hasPrefix("client bytes do not start with the HTTP/2 connection preface; they begin \"G"), "\(label)")
        }
        // A plausible frame that is not SETTINGS: reported, decoding continues.
        #expect(decode([pingFixture], fromConnectionStart: true) == [
            .invalid(reason: "PROTOCOL_ERROR: first frame from the server is PING, not SETTINGS", offset: 0),
            .frame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 0x0102_0304_0506_0708)), offset: 0),
        ])
    }

    @Test func headerBlockInterruptedByAnotherFrame() {
        let bytes = frameBytes(type: 1, flags: 0x00, stream: 1, Array(rfcRequest1[..<5])) + pingFixture
        verify(bytes, side: .client, expect: [
            .frame(HTTP2Frame(streamID: 1, length: 5, payload: .headers(.init(
                fields: nil, endStream: false, endHeaders: false, undecodableReason: "header block interrupted by PING on stream 0"))), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: PING on stream 0 inside the header block of stream 1 (expected CONTINUATION)", offset: 14),
            .frame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 0x0102_0304_0506_0708)), offset: 14),
        ])
    }

    @Test func unknownFrameTypesAreKept() {
        let bytes = frameBytes(type: 0x10, flags: 0x3, stream: 0, [0, 0, 0, 1, 0x75, 0x3d, 0x31]) // PRIORITY_UPDATE
        verify(bytes, expect: [.frame(HTTP2Frame(streamID: 0, flags: HTTP2FrameFlags(rawValue: 3), length: 7,
                                                 payload: .unknown(type: .priorityUpdate, flags: 3, length: 7)), offset: 0)])
    }

    @Test func offsetsKeepCountingAcrossBufferCompaction() {
        let decoder = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        var offsets: [Int] = []
        for _ in 0..<10_000 {
            decoder.append(bytes: pingFixture)
            if case let .frame(_, offset) = decoder.nextFrame() { offsets.append(offset) }
        }
        #expect(offsets.count == 10_000)
        #expect(offsets.last == 9_999 * 17)
        #expect(decoder.consumedOffset == 10_000 * 17)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SplitMix64(seed: 0x5eed)
        for round in 0..<400 {
            let count = Int.random(in: 0...600, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let side: HTTP2FrameDecoder.Side = round % 2 == 0 ? .client : .server
            _ = decode([bytes], side: side, fromConnectionStart: round % 3 == 0)
            // Also in random chunks.
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let n = Int.random(in: 1...32, using: &rng)
                chunks.append(Array(bytes[index..<min(bytes.count, index + n)]))
                index += n
            }
            _ = decode(chunks, side: side)
        }
    }

    @Test func randomFrameShapedInputNeverCrashes() {
        // Valid-looking headers with small lengths reach every payload parser and HPACK.
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let length = Int.random(in: 0...40, using: &rng)
                let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let type = UInt8.random(in: 0...11, using: &rng)
                let flags = UInt8.random(in: 0...255, using: &rng)
                let stream = UInt32.random(in: 0...5, using: &rng)
                bytes += frameBytes(type: type, flags: flags, stream: stream, payload)
            }
            if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0...min(8, bytes.count), using: &rng)) }
            let whole = decode([bytes], side: .client)
            let bytewise = decode(bytes.map { [$0] }, side: .client)
            #expect(whole == bytewise)
        }
    }
}
