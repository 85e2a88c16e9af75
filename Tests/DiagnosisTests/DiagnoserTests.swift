import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2
import Testing

/// Every HTTP/2 diagnoser on evidence built here: no capture, no peer, no root.
@Suite struct DiagnoserTests {
    func evidence(_ build: (inout HTTP2Evidence) -> Void) -> HTTP2Evidence {
        var e = HTTP2Evidence(observedUntil: 10, observation: "capture")
        e.connectionStartedAt = 0
        build(&e)
        return e
    }

    static let drainAnnounced = GoawayEvidence(t: 2, from: .server, lastStreamID: Int32.max, code: .noError, debug: "max_age")
    static let realLastStream = GoawayEvidence(t: 2.001, from: .server, lastStreamID: 1, code: .noError, debug: "max_age")

    // MARK: PING timeout

    @Test func pingNeverAckedThenItsSenderCloses() throws {
        let e = evidence {
            $0.unansweredPings = [PingEvidence(sentAt: 3, from: .client)]
            $0.close = ConnectionClose(at: 5, by: .client, how: .fin)
            $0.pingTimeout = 2
        }
        let d = try #require(PingTimeoutDiagnoser.diagnose(e))
        #expect(d.outcome.status == .detected)
        #expect(d.outcome.mechanism == .h2PingTimeout)
        #expect(d.outcome.detectedAt == 5)
        #expect(d.outcome.predictedAt == 5)
        #expect(d.outcome.summary.hasPrefix("PING from the client at t=3 s never acknowledged; the client closed the connection at t=5 s"))
        #expect(d.findings.map(\.kind) == ["h2-ping-timeout"])
    }

    @Test func pingUnansweredButThePeerClosedIsNoPingTimeout() {
        let e = evidence {
            $0.unansweredPings = [PingEvidence(sentAt: 3, from: .client)]
            $0.close = ConnectionClose(at: 5, by: .server, how: .fin)
        }
        #expect(PingTimeoutDiagnoser.diagnose(e) == nil)
    }

    // MARK: GOAWAY with an error code

    @Test func tooManyPings() throws {
        let e = evidence {
            $0.goaways = [GoawayEvidence(t: 4, from: .server, lastStreamID: 0, code: .enhanceYourCalm, debug: "too_many_pings")]
            $0.clientPingsSent = 3
            $0.close = ConnectionClose(at: 4.1, by: .server, how: .fin)
        }
        let d = try #require(GoawayErrorDiagnoser.diagnose(e))
        #expect(d.outcome.status == .closed)
        #expect(d.outcome.mechanism == .goaway)
        #expect(d.outcome.detectedAt == 4)
        #expect(d.outcome.summary.hasPrefix("GOAWAY ENHANCE_YOUR_CALM \"too_many_pings\" from the server at t=4 s after 3 client PINGs: the client pings more often"))
        #expect(d.outcome.explanation?.contains("ping-time") == true)
        #expect(d.findings.first?.kind == "too-many-pings")
        // A drain is no error.
        #expect(GoawayErrorDiagnoser.diagnose(evidence { $0.goaways = [DiagnoserTests.drainAnnounced] }) == nil)
    }

    @Test func longDebugDataIsSummarised() throws {
        let e = evidence { $0.goaways = [GoawayEvidence(t: 1, from: .server, lastStreamID: 0, code: .protocolError, debug: String(repeating: "x", count: 5000))] }
        let d = try #require(GoawayErrorDiagnoser.diagnose(e))
        #expect(d.outcome.summary.count < 200)
        #expect(d.outcome.summary.contains("(5000+ bytes)"))
    }

    // MARK: GOAWAY drain

    @Test func doubleGoawayGraceExpiredCCoreStyle() throws {
        // grpc C-core: trailers grpc-status 14, then RST_STREAM, then FIN.
        let e = evidence {
            $0.goaways = [DiagnoserTests.drainAnnounced, DiagnoserTests.realLastStream]
            $0.streams = [StreamEvidence(id: 1, openedAt: 0.5, endedAt: 3.0, end: .reset(.noError, afterTrailers: .unavailable),
                                         resetBy: .server, resetAt: 3.0)]
            $0.close = ConnectionClose(at: 3.001, by: .server, how: .fin)
        }
        let drain = try #require(GoawayDrainDiagnoser.diagnose(e))
        #expect(drain.isDouble)
        #expect(drain.connectionAge == 2)
        #expect(abs((drain.grace ?? 0) - 1.0) < 1e-9)
        #expect(drain.graceExpiry == .trailersAndReset)
        #expect(drain.diagnosis.outcome.mechanism == .goawayGraceExpired)
        #expect(drain.diagnosis.outcome.status == .closed)
        #expect(drain.diagnosis.outcome.detectedAt == 3.001)
        #expect(drain.diagnosis.outcome.summary == "double GOAWAY (A9 graceful drain) \"max_age\" from the server at t=2 s after a connection age of 2 s; the grace period (1 s) expired with 1 stream open; the server closed the connection (FIN) at t=3.001 s")
        #expect(drain.diagnosis.findings.map(\.kind) == ["goaway-grace-expired"])
    }

    @Test func graceExpiredByClosingTheConnectionUnderTheStreams() throws {
        let e = evidence {
            $0.goaways = [DiagnoserTests.drainAnnounced, DiagnoserTests.realLastStream]
            $0.streams = [StreamEvidence(id: 1, openedAt: 0.5, endedAt: 3.0, end: .killedByConnectionClose(how: "RST from the server"))]
            $0.close = ConnectionClose(at: 3.0, by: .server, how: .rst)
        }
        let drain = try #require(GoawayDrainDiagnoser.diagnose(e))
        #expect(drain.graceExpiry == .connectionClosedUnderStreams)
        #expect(drain.diagnosis.outcome.summary.hasSuffix("the server reset the connection at t=3 s"))
    }

    @Test func gracefulDrainAndRefusedStreams() throws {
        let e = evidence {
            $0.goaways = [DiagnoserTests.drainAnnounced, DiagnoserTests.realLastStream]
            $0.streams = [StreamEvidence(id: 1, openedAt: 0.5, endedAt: 2.5, end: .completed(httpStatus: 200, grpcStatus: .ok, grpcMessage: nil)),
                          StreamEvidence(id: 3, openedAt: 2.2, endedAt: 2.2, end: .refusedByGoaway(lastStreamID: 1))]
            $0.close = ConnectionClose(at: 2.6, by: .server, how: .fin)
        }
        let drain = try #require(GoawayDrainDiagnoser.diagnose(e))
        #expect(drain.cutShort.isEmpty)
        #expect(drain.refused == 1)
        #expect(drain.diagnosis.outcome.mechanism == .goaway)
        #expect(drain.diagnosis.outcome.detectedAt == 2.6)
        #expect(drain.diagnosis.outcome.summary.contains("every stream finished before the close (graceful)"))
        #expect(drain.diagnosis.outcome.explanation?.contains("1 stream opened after the GOAWAY was refused") == true)
    }

    @Test func stillDrainingWhenTheObservationEnds() throws {
        let e = evidence {
            $0.goaways = [DiagnoserTests.drainAnnounced, DiagnoserTests.realLastStream]
            $0.streams = [StreamEvidence(id: 1, openedAt: 0.5, endedAt: nil, end: .open)]
        }
        let drain = try #require(GoawayDrainDiagnoser.diagnose(e))
        #expect(drain.grace == nil)
        #expect(drain.diagnosis.outcome.status == .survived)
        #expect(drain.diagnosis.outcome.detectedAt == 2)
        #expect(drain.diagnosis.outcome.summary.contains("stream 1 still open on a draining connection when the capture ended at t=10 s"))
    }

    // MARK: proxy reset

    @Test func proxyResetMeansINTERNAL() throws {
        let e = evidence {
            $0.rstStreams = [RSTStreamEvidence(t: 1, from: .server, streamID: 1, code: .internalError),
                             RSTStreamEvidence(t: 1.5, from: .client, streamID: 3, code: .internalError),
                             RSTStreamEvidence(t: 2, from: .server, streamID: 5, code: .cancel)]
        }
        let d = try #require(ProxyResetDiagnoser.diagnose(e))
        #expect(d.outcome.status == .error)
        #expect(d.outcome.mechanism == .none)
        #expect(d.outcome.detectedAt == 1)
        #expect(d.outcome.summary.hasPrefix("the server reset stream 1 with RST_STREAM INTERNAL_ERROR at t=1 s: clients report INTERNAL; a proxy does this"))
        #expect(ProxyResetDiagnoser.errorResets(in: e).count == 1)
        #expect(GRPCClientRows.rows(for: .reset(.internalError, afterTrailers: nil)).allSatisfy { $0.status == "INTERNAL" })
        #expect(ProxyResetDiagnoser.diagnose(evidence { $0.rstStreams = [RSTStreamEvidence(t: 1, from: .server, streamID: 1, code: .cancel)] }) == nil)
    }

    // MARK: flow-control stall

    @Test func stallBothWaysIsADeadlock() throws {
        let e = evidence {
            $0.stalls = [FlowControlStall(sender: .client, since: 1, until: 12, ongoing: false, scope: 1, bytesWaiting: 65_541,
                                          windowKnown: true, pingsAnswered: 10, receiverLastUpdate: 0.9),
                         FlowControlStall(sender: .server, since: 1.1, until: 12, ongoing: false, scope: 1, bytesWaiting: 16_384,
                                          windowKnown: true, pingsAnswered: 10, receiverLastUpdate: nil)]
        }
        let d = try #require(FlowControlStallDiagnoser.diagnose(e, threshold: 5))
        #expect(d.outcome.status == .detected)
        #expect(d.outcome.mechanism == .flowControlStall)
        #expect(d.outcome.detectedAt == 6)
        #expect(d.outcome.summary.contains("the server stopped reading (its last WINDOW_UPDATE at t=0.9 s)"))
        #expect(d.outcome.summary.contains("bidirectional-stream deadlock"))
        #expect(d.findings.count == 2)
        #expect(FlowControlStallDiagnoser.diagnose(evidence { _ in }, threshold: 5) == nil)
    }

    // MARK: client rows

    @Test func clientRowsPerStreamEnd() {
        let killed = GRPCClientRows.rows(for: .killedByConnectionClose(how: "FIN from the server"))
        #expect(killed.first { $0.family == "grpc-go" }?.status == "UNAVAILABLE")
        #expect(killed.first { $0.family == "proxy" }?.status == "INTERNAL")
        let trailers = GRPCClientRows.rows(for: .reset(.noError, afterTrailers: .unavailable))
        #expect(trailers.allSatisfy { $0.status == "UNAVAILABLE" })
        #expect(GRPCClientRows.rows(for: .completed(httpStatus: 200, grpcStatus: nil, grpcMessage: nil), grpc: false).allSatisfy { $0.status == "HTTP 200" })
    }
}
