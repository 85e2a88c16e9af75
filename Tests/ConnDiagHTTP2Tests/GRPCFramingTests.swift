import Testing
import ConnDiagHTTP2

@Suite struct GRPCFramingTests {
    @Test func encodeMessage() {
        #expect(GRPCFraming.encodeMessage([0xaa, 0xbb]) == [0, 0, 0, 0, 2, 0xaa, 0xbb])
        #expect(GRPCFraming.encodeMessage([], compressed: true) == [1, 0, 0, 0, 0])
    }

    @Test func decodeMessagesSplitAnywhere() {
        let messages: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 9, count: 300)]
        let stream = messages.flatMap { GRPCFraming.encodeMessage($0) }
        for (label, chunks) in splits(of: stream) {
            var decoder = GRPCMessageDecoder()
            var got: [[UInt8]] = []
            for chunk in chunks {
                decoder.append(bytes: chunk)
                while case let .message(message) = decoder.nextMessage() { got.append(message.payload) }
            }
            #expect(got == messages, "\(label)")
            #expect(decoder.bufferedByteCount == 0)
        }
    }

    @Test func brokenPrefixesAreInvalidForGood() {
        var decoder = GRPCMessageDecoder()
        decoder.append(bytes: GRPCFraming.encodeMessage([1]) + [7, 0, 0, 0, 0])
        #expect(decoder.nextMessage() == .message(.init(compressed: false, payload: [1])))
        #expect(decoder.nextMessage() == .invalid(reason: "compressed-flag octet is 7, expected 0 or 1", offset: 6))
        decoder.append(bytes: GRPCFraming.encodeMessage([1]))
        #expect(decoder.nextMessage() == .invalid(reason: "compressed-flag octet is 7, expected 0 or 1", offset: 6))

        var small = GRPCMessageDecoder(maxMessageSize: 10)
        small.append(bytes: [0, 0, 0, 0, 11])
        #expect(small.nextMessage() == .invalid(reason: "message length 11 exceeds the maximum of 10 bytes", offset: 0))
    }

    @Test func statusCodes() {
        #expect(GRPCStatusCode.ok.name == "OK")
        #expect(GRPCStatusCode.unavailable.rawValue == 14)
        #expect(GRPCStatusCode.unavailable.name == "UNAVAILABLE")
        #expect(GRPCStatusCode.unauthenticated.rawValue == 16)
        #expect(GRPCStatusCode(99).name == "CODE_99")
        #expect(GRPCStatusCode(headerValue: "14") == .unavailable)
        #expect(GRPCStatusCode(headerValue: "x1") == nil)
        #expect(GRPCStatusCode(headerValue: "") == nil)
        #expect(GRPCStatusCode(httpStatus: 503) == .unavailable)
        #expect(GRPCStatusCode(httpStatus: 404) == .unimplemented)
        #expect(GRPCStatusCode(rstStream: .refusedStream) == .unavailable)
        #expect(GRPCStatusCode(rstStream: .cancel) == .cancelled)
        #expect(GRPCStatusCode(rstStream: .enhanceYourCalm) == .resourceExhausted)
        #expect(GRPCStatusCode.decodeMessage("drain%20in%20progress%") == "drain in progress%")
    }

    @Test func requestHeadersAndPaths() {
        let headers = GRPCFraming.requestHeaders(timeoutMilliseconds: 1500, userAgent: nil)
        #expect(headers == [HTTP2Header("content-type", "application/grpc"), HTTP2Header("te", "trailers"),
                            HTTP2Header("grpc-timeout", "1500m")])
        #expect(GRPCFraming.isValidMethodPath("/pkg.Svc/Watch"))
        #expect(!GRPCFraming.isValidMethodPath("/pkg.Svc"))
        #expect(!GRPCFraming.isValidMethodPath("pkg.Svc/Watch"))
    }

    @Test func responseStatusFromTrailers() {
        var response = HTTP2StreamResponse(streamID: 1)
        response.status = 200
        response.headers = [HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc")]
        #expect(response.effectiveGRPCStatus == nil)
        response.trailers = [HTTP2Header("grpc-status", "14"), HTTP2Header("grpc-message", "max%20age")]
        #expect(response.grpcStatus == .unavailable)
        #expect(response.grpcMessage == "max age")
        var reset = HTTP2StreamResponse(streamID: 3)
        reset.closeErrorCode = .refusedStream
        #expect(reset.effectiveGRPCStatus == .unavailable)
    }
}
