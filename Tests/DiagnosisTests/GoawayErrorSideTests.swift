import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2
import Testing

/// A GOAWAY with an error code from either side ends the connection badly (RFC 9113 §6.8),
/// whatever graceful GOAWAY comes before or after it.
@Suite struct GoawayErrorSideTests {
    static func evidence(_ goaways: [GoawayEvidence]) -> HTTP2Evidence {
        var e = HTTP2Evidence(observedUntil: 1, observation: "capture")
        e.connectionStartedAt = 0
        e.goaways = goaways
        e.close = ConnectionClose(at: 0.9, by: .server, how: .fin)
        return e
    }

    /// sv-http2-errorcode: the client's GOAWAY INTERNAL_ERROR, then the server's NO_ERROR.
    @Test func clientErrorDecidesOverALaterGracefulGoaway() throws {
        let e = Self.evidence([GoawayEvidence(t: 0.0016, from: .client, lastStreamID: 0, code: .internalError, debug: ""),
                               GoawayEvidence(t: 0.0017, from: .server, lastStreamID: 1, code: .noError, debug: "")])
        let d = try #require(GoawayErrorDiagnoser.diagnose(e))
        #expect(d.outcome.status == .closed)
        #expect(d.outcome.mechanism == .goaway)
        #expect(d.outcome.summary.hasPrefix("GOAWAY INTERNAL_ERROR from the client"))
        #expect(!d.outcome.summary.contains("client PING"))
        #expect(d.findings.map(\.kind) == ["goaway-error"])
        #expect(d.findings.first?.severity == .warning)
    }

    /// Errors from both sides: the first decides, each is a finding with its side and code.
    @Test func everyErrorGoawayIsAFinding() throws {
        let e = Self.evidence([GoawayEvidence(t: 0.1, from: .server, lastStreamID: 3, code: .protocolError, debug: "bad frame"),
                               GoawayEvidence(t: 0.2, from: .client, lastStreamID: 0, code: .internalError, debug: "")])
        let d = try #require(GoawayErrorDiagnoser.diagnose(e))
        #expect(d.outcome.detectedAt == 0.1)
        #expect(d.findings.count == 2)
        #expect(d.findings[0].summary.contains("PROTOCOL_ERROR \"bad frame\" from the server"))
        #expect(d.findings[1].summary.contains("INTERNAL_ERROR from the client"))
    }

    @Test func gracefulGoawaysAreNoError() {
        let e = Self.evidence([GoawayEvidence(t: 0.1, from: .client, lastStreamID: 0, code: .noError, debug: ""),
                               GoawayEvidence(t: 0.2, from: .server, lastStreamID: 1, code: .noError, debug: "")])
        #expect(GoawayErrorDiagnoser.diagnose(e) == nil)
    }
}
