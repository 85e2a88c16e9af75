import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2
import Testing

/// The one frame-to-event wording, as the live session and analyze both show it.
@Suite struct HTTP2FrameEventTests {
    @Test func goAwayDrainAndTooManyPings() {
        let drain = HTTP2Frame(streamID: 0, length: 8, payload: .goAway(lastStreamID: Int32.max, errorCode: .noError, debugData: []))
        let e = HTTP2FrameEvent.event(drain, from: .server, direction: .in, at: 1)
        #expect(e.kind == "goaway")
        #expect(e.detail == "GOAWAY from the server last_stream_id=2147483647 NO_ERROR — drain announced (A9: the real last-stream-id follows after a PING round trip)")
        let calm = HTTP2Frame(streamID: 0, length: 22, payload: .goAway(lastStreamID: 3, errorCode: .enhanceYourCalm, debugData: Array("too_many_pings".utf8)))
        #expect(HTTP2FrameEvent.event(calm, from: .server, direction: .in, at: 1).detail
                == "GOAWAY from the server last_stream_id=3 ENHANCE_YOUR_CALM \"too_many_pings\" — the client pings more often than the server allows")
    }

    @Test func pingAckWithAndWithoutItsPing() {
        let ack = HTTP2Frame(streamID: 0, flags: .ack, length: 8, payload: .ping(ack: true, opaque: 1))
        let matched = HTTP2FrameEvent.event(ack, from: .server, direction: .in, at: 1, notes: .init(pingRTT: 0.002))
        #expect(matched.kind == "ping-ack")
        #expect(matched.detail.hasPrefix("PING ACK 0000000000000001 from the server, RTT "))
        #expect(matched.fields.map(\.0) == ["stream_id", "len", "opaque", "rtt_ms"])
        let unmatched = HTTP2FrameEvent.event(ack, from: .server, direction: .in, at: 1, notes: .init(pingNotCaptured: true))
        #expect(unmatched.detail == "PING ACK 0000000000000001 from the server (its PING was not captured)")
    }

    @Test func headersTrailersAndUndecodable() {
        let fields = [HTTP2Header(":status", "200"), HTTP2Header("grpc-status", "14"), HTTP2Header("x-other", "1")]
        let t = HTTP2FrameEvent.headers(streamID: 1, length: 20, endStream: true, fields: fields, undecodable: nil,
                                        isTrailers: true, from: .server, direction: .in, at: 1)
        #expect(t.kind == "trailers")
        #expect(t.detail == "trailers stream 1 from the server :status=200 grpc-status=14")
        #expect(t.fields.map(\.0) == ["stream_id", "len", "headers", "end_stream"])
        let u = HTTP2FrameEvent.headers(streamID: 3, length: 5, endStream: false, fields: nil, undecodable: "no table",
                                        isTrailers: false, from: .client, direction: .out, at: 1)
        #expect(u.detail == "HEADERS stream 3 from the client, headers no table")
        #expect(u.fields.map(\.0) == ["stream_id", "len", "undecodable", "end_stream"])
    }

    @Test func rstStreamAndWindowUpdate() {
        let rst = HTTP2Frame(streamID: 5, length: 4, payload: .rstStream(.internalError))
        #expect(HTTP2FrameEvent.event(rst, from: .server, direction: .in, at: 1).detail == "RST_STREAM stream 5 INTERNAL_ERROR from the server")
        let wu = HTTP2Frame(streamID: 0, length: 4, payload: .windowUpdate(increment: 100))
        let e = HTTP2FrameEvent.event(wu, from: .client, direction: .out, at: 1, notes: .init(windowReopenedAfter: 2))
        #expect(e.kind == .windowUpdate)
        #expect(e.detail.hasPrefix("WINDOW_UPDATE stream 0 +100 from the client (the server's send window reopens after "))
    }
}
