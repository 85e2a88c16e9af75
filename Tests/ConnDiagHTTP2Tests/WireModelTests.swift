import Testing
import ConnDiagHTTP2

@Suite struct WireModelTests {
    @Test func errorCodeNames() {
        #expect(HTTP2ErrorCode.noError.name == "NO_ERROR")
        #expect(HTTP2ErrorCode.protocolError.name == "PROTOCOL_ERROR")
        #expect(HTTP2ErrorCode.enhanceYourCalm.name == "ENHANCE_YOUR_CALM")
        #expect(HTTP2ErrorCode.http11Required.name == "HTTP_1_1_REQUIRED")
        #expect(HTTP2ErrorCode(0x1f).name == "0x1f")
        #expect(HTTP2ErrorCode(rawValue: 8) == .cancel)
        #expect("\(HTTP2ErrorCode.refusedStream)" == "REFUSED_STREAM")
    }

    @Test func frameTypeAndSettingNames() {
        #expect(HTTP2FrameType.goAway.name == "GOAWAY")
        #expect(HTTP2FrameType.windowUpdate.name == "WINDOW_UPDATE")
        #expect(HTTP2FrameType(0xfe).name == "0xfe")
        #expect(HTTP2SettingIdentifier.initialWindowSize.name == "INITIAL_WINDOW_SIZE")
        #expect(HTTP2SettingIdentifier.maxHeaderListSize.name == "MAX_HEADER_LIST_SIZE")
        #expect(HTTP2SettingIdentifier(0x4242).name == "0x4242")
        #expect(HTTP2Defaults.clientPreface.count == 24)
    }

    @Test func frameDescriptions() {
        let ping = HTTP2Frame(streamID: 0, flags: .ack, length: 8, payload: .ping(ack: true, opaque: 0xabc))
        #expect(ping.description == "PING stream=0 ACK opaque=0xabc")
        #expect(ping.type == .ping)
        #expect(ping.wireLength == 17)
        let settings = HTTP2Frame(streamID: 0, length: 6, payload: .settings(ack: false, [HTTP2Setting(.enablePush, 0)]))
        #expect(settings.description == "SETTINGS stream=0 ENABLE_PUSH=0")
    }
}
