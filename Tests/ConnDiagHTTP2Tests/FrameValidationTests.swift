import Testing
import ConnDiagHTTP2

// The checks analyze's own frame parser used to skip (it accepted these silently): each
// broken frame fed whole, byte by byte and split at every boundary, through the pull API
// and through the zero-copy push API that analyze uses.

/// SETTINGS whose length is not a multiple of 6.
let settingsLength7 = hex("""
    00 00 07 04 00 00 00 00 00  # SETTINGS, length 7, stream 0
    00 03 00 00 00 64           # MAX_CONCURRENT_STREAMS 100
    ff                          # one byte too many
    """)

/// RST_STREAM on stream 0.
let rstStreamOnStream0Fixture = hex("""
    00 00 04 03 00 00 00 00 00  # RST_STREAM, stream 0
    00 00 00 02                 # INTERNAL_ERROR
    """)

/// RST_STREAM of 3 bytes.
let rstStreamLength3 = hex("00 00 03 03 00 00 00 00 01  00 00 02")
/// WINDOW_UPDATE of 5 bytes.
let windowUpdateLength5 = hex("00 00 05 08 00 00 00 00 00  00 00 10 00 00")
/// PRIORITY of 4 bytes.
let priorityLength4 = hex("00 00 04 02 00 00 00 00 01  00 00 00 00")
/// GOAWAY of 7 bytes (no room for the error code).
let goAwayLength7 = hex("00 00 07 07 00 00 00 00 00  00 00 00 01 00 00 00")
/// SETTINGS on stream 1.
let settingsOnStream1 = hex("00 00 06 04 00 00 00 00 01  00 04 00 01 00 00")
/// GOAWAY on stream 1.
let goAwayOnStream1 = hex("00 00 08 07 00 00 00 00 01  00 00 00 01 00 00 00 00")
/// DATA on stream 0.
let dataOnStream0 = hex("00 00 02 00 00 00 00 00 00  68 69")
/// CONTINUATION with no HEADERS before it.
let strayContinuation = hex("00 00 01 09 04 00 00 00 01  82")

/// Every result of the push API (as analyze gets them), DATA and header blocks included.
final class RecordingSink: HTTP2FrameSink {
    var results: [HTTP2FrameDecoder.Result] = []
    func decoded(_ result: HTTP2FrameDecoder.Result) { results.append(result) }
    func decodedData(_ header: HTTP2FrameHeader, dataLength: Int, offset: Int) {
        results.append(.frame(HTTP2Frame(header, dataLength: dataLength), offset: offset))
    }
    func decodedHeaders(_ header: HTTP2FrameHeader, priority: HTTP2PrioritySpec?, block: UnsafeRawBufferPointer,
                        offset: Int, decoder: HTTP2FrameDecoder) {
        var fields: [HTTP2Header] = []
        let reason = decoder.decodeHeaderBlock(block) { n, v in
            fields.append(HTTP2Header(String(decoding: n, as: UTF8.self), String(decoding: v, as: UTF8.self)))
        }
        var frame = HTTP2Frame(header, priority: priority)
        frame.setHeaderBlock(fields: reason == nil ? fields : nil, reason: reason)
        results.append(.frame(frame, offset: offset))
    }
}

/// Feeds `chunks` through `feed(_:to:)`, then `finish()`.
func push(_ chunks: [[UInt8]], side: HTTP2FrameDecoder.Side = .server) -> [HTTP2FrameDecoder.Result] {
    let decoder = HTTP2FrameDecoder(side: side, fromConnectionStart: false)
    let sink = RecordingSink()
    for chunk in chunks { chunk.withUnsafeBytes { decoder.feed($0, to: sink) } }
    if let tail = decoder.finish() { sink.results.append(tail) }
    return sink.results
}

/// `verify`, and the same through the push API for every split.
func verifyBothWays(_ bytes: [UInt8], expect expected: [HTTP2FrameDecoder.Result],
                    sourceLocation: SourceLocation = #_sourceLocation) {
    verify(bytes, expect: expected, sourceLocation: sourceLocation)
    for (label, chunks) in splits(of: bytes) {
        let results = push(chunks)
        #expect(results == expected, "push, \(label)", sourceLocation: sourceLocation)
        if results != expected { return }
    }
}

@Suite struct FrameValidationTests {
    let goodFrame = pingFixture  // a good frame after each bad one: decoding goes on

    @Test func settingsLengthNotAMultipleOf6() {
        verifyBothWays(settingsLength7 + goodFrame, expect: [
            .invalid(reason: "FRAME_SIZE_ERROR: SETTINGS frame length 7 is not a multiple of 6", offset: 0),
            .frame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 0x0102_0304_0506_0708)), offset: 16),
        ])
    }

    @Test func rstStreamOnStream0() {
        verifyBothWays(rstStreamOnStream0Fixture + goodFrame, expect: [
            .frame(HTTP2Frame(streamID: 0, length: 4, payload: .rstStream(.internalError)), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: RST_STREAM frame on stream 0", offset: 0),
            .frame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 0x0102_0304_0506_0708)), offset: 13),
        ])
    }

    @Test func fixedLengthsPerType() {
        verifyBothWays(rstStreamLength3, expect: [.invalid(reason: "FRAME_SIZE_ERROR: RST_STREAM frame length 3, expected 4", offset: 0)])
        verifyBothWays(windowUpdateLength5, expect: [.invalid(reason: "FRAME_SIZE_ERROR: WINDOW_UPDATE frame length 5, expected 4", offset: 0)])
        verifyBothWays(priorityLength4, expect: [.invalid(reason: "FRAME_SIZE_ERROR: PRIORITY frame length 4, expected 5", offset: 0)])
        verifyBothWays(goAwayLength7, expect: [.invalid(reason: "FRAME_SIZE_ERROR: GOAWAY frame length 7, expected at least 8", offset: 0)])
    }

    @Test func stream0Rules() {
        verifyBothWays(settingsOnStream1, expect: [
            .frame(HTTP2Frame(streamID: 1, length: 6, payload: .settings(ack: false, [HTTP2Setting(.initialWindowSize, 65536)])), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: SETTINGS frame on stream 1, must be stream 0", offset: 0),
        ])
        verifyBothWays(goAwayOnStream1, expect: [
            .frame(HTTP2Frame(streamID: 1, length: 8, payload: .goAway(lastStreamID: 1, errorCode: .noError, debugData: [])), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: GOAWAY frame on stream 1, must be stream 0", offset: 0),
        ])
        verifyBothWays(dataOnStream0, expect: [
            .frame(HTTP2Frame(streamID: 0, length: 2, payload: .data(length: 2, endStream: false, padded: false)), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: DATA frame on stream 0", offset: 0),
        ])
    }

    @Test func continuationSequencing() {
        verifyBothWays(strayContinuation, expect: [
            .frame(HTTP2Frame(streamID: 1, flags: .endHeaders, length: 1, payload: .continuation(endHeaders: true)), offset: 0),
            .invalid(reason: "PROTOCOL_ERROR: CONTINUATION on stream 1 without a preceding HEADERS or PUSH_PROMISE", offset: 0),
        ])
    }

    @Test func pushAndPullAgreeOnGoodTraffic() {
        let bytes = settingsFixture + headersFrame(stream: 1, rfcRequest1) + headersFrame(stream: 3, rfcRequest2)
            + paddedDataFixture + pingFixture + goAwayFixture + rstStreamFixture + windowUpdateFixture
        let pulled = decode([bytes], side: .client)
        #expect(pulled.count == 8)
        for (label, chunks) in splits(of: bytes) {
            #expect(push(chunks, side: .client) == pulled, "\(label)")
        }
    }

    @Test func dataPayloadsAreSkippedAndTruncationReported() {
        let data = frameBytes(type: 0, flags: 0x01, stream: 1, [UInt8](repeating: 0x61, count: 100))
        let results = push([Array(data[..<30])])
        #expect(results == [
            .frame(HTTP2Frame(streamID: 1, flags: .endStream, length: 100, payload: .data(length: 100, endStream: true, padded: false)), offset: 0),
            .truncated(reason: "input ended inside a DATA frame (21 of 100 payload bytes)", offset: 0),
        ])
    }
}
