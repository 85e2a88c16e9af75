import Testing
import ConnDiagHTTP2
#if canImport(Glibc)
import Glibc
#endif

/// Records a session's events, and frames by direction.
final class EventLog {
    var events: [HTTP2SessionEvent] = []

    func frames(_ direction: HTTP2Direction) -> [HTTP2Frame] {
        events.compactMap {
            if case let .frame(d, frame) = $0, d == direction { return frame }
            return nil
        }
    }

    func attach(to session: HTTP2ClientSession) {
        session.onEvent = { [unowned self] in self.events.append($0) }
    }
}

/// Frames decoded from everything the session wrote to the other end of a socketpair.
func decodeClientBytes(_ decoder: HTTP2FrameDecoder, from fd: Int32) -> [HTTP2FrameDecoder.Result] {
    decoder.append(bytes: readAvailable(fd))
    var results: [HTTP2FrameDecoder.Result] = []
    while true {
        let result = decoder.nextFrame()
        if case .needMoreData = result { return results }
        results.append(result)
        if case .stopped = result { return results }
    }
}

func frames(_ results: [HTTP2FrameDecoder.Result]) -> [HTTP2Frame] {
    results.compactMap { if case let .frame(frame, _) = $0 { return frame } else { return nil } }
}

/// Feeds every available byte to the session; returns the last non-read result.
@discardableResult
func pump(_ session: HTTP2ClientSession) -> HTTP2ReadResult {
    while true {
        let result = session.readFromSocket()
        if case .read = result { continue }
        session.flush()
        return result
    }
}

@Suite struct HTTP2ClientSessionSocketPairTests {
    @Test func requestResponsePingAndGoAwayAgainstAScriptedPeer() throws {
        let (clientFD, peerFD) = socketPair()
        defer { close(clientFD); close(peerFD) }
        let log = EventLog()
        let session = try HTTP2ClientSession(fd: clientFD, settings: HTTP2ClientSettings(
            initialWindowSize: 1 << 20, connectionWindowSize: 1 << 24))
        log.attach(to: session)
        let stream = try session.submitRequest(authority: "example", path: "/x",
                                               headers: [HTTP2Header("user-agent", "conndiag-test")])
        #expect(stream == 1)
        #expect(session.wantsWrite)
        #expect(session.flush() == .flushed)
        #expect(!session.wantsWrite)

        // What went on the wire, decoded independently.
        let peer = HTTP2FrameDecoder(side: .client, fromConnectionStart: true)
        let wire = decodeClientBytes(peer, from: peerFD)
        #expect(wire.first == .preface(offset: 0))
        let sent = frames(wire)
        #expect(sent.map(\.type) == [.settings, .windowUpdate, .headers])
        #expect(sent.first?.payload == .settings(ack: false, [HTTP2Setting(.enablePush, 0), HTTP2Setting(.initialWindowSize, 1 << 20)]))
        #expect(sent.dropFirst().first?.payload == .windowUpdate(increment: UInt32(1 << 24) - 65_535))
        let expectedFields = [HTTP2Header(":method", "GET"), HTTP2Header(":scheme", "http"),
                              HTTP2Header(":authority", "example"), HTTP2Header(":path", "/x"),
                              HTTP2Header("user-agent", "conndiag-test")]
        if case let .headers(h)? = sent.last?.payload {
            #expect(h.fields == expectedFields)
            #expect(h.endStream)
        } else {
            Issue.record("no HEADERS on the wire")
        }
        // The session reported the same frames outbound, HEADERS with its field list.
        #expect(log.frames(.outbound) == sent)

        // The peer answers: SETTINGS, SETTINGS ACK, response HEADERS (:status 200, HPACK
        // static index 8), DATA "hello" with END_STREAM, then a PING.
        writeAll(peerFD, frameBytes(type: 4, [0, 3, 0, 0, 0, 10])
                 + frameBytes(type: 4, flags: 1, [])
                 + frameBytes(type: 1, flags: 0x04, stream: 1, [0x88])
                 + frameBytes(type: 0, flags: 0x01, stream: 1, Array("hello".utf8))
                 + frameBytes(type: 6, [0, 0, 0, 0, 0, 0, 0, 42]))
        var chunks: [[UInt8]] = []
        session.onData = { _, bytes in chunks.append(bytes) }
        #expect(pump(session) == .wouldBlock)
        let inbound = log.frames(.inbound)
        #expect(inbound.map(\.type) == [.settings, .settings, .headers, .data, .ping])
        let response = session.response(for: 1)
        #expect(response?.status == 200)
        #expect(response?.dataBytes == 5)
        #expect(response?.dataFrames == 1)
        #expect(response?.closeErrorCode == .noError)
        #expect(chunks == [Array("hello".utf8)])
        #expect(log.events.contains(.streamClosed(streamID: 1, errorCode: .noError)))
        #expect(session.remoteSetting(.maxConcurrentStreams) == 10)

        // nghttp2 acknowledged SETTINGS and PING by itself; both were reported outbound.
        let replies = frames(decodeClientBytes(peer, from: peerFD))
        #expect(replies.contains { $0.payload == .settings(ack: true, []) })
        #expect(replies.contains { $0.payload == .ping(ack: true, opaque: 42) })
        #expect(log.frames(.outbound).contains { $0.payload == .ping(ack: true, opaque: 42) })

        // Our own PING.
        try session.submitPing(opaque: 0xfeed_f00d_dead_beef)
        session.flush()
        #expect(frames(decodeClientBytes(peer, from: peerFD)).map(\.payload) == [.ping(ack: false, opaque: 0xfeed_f00d_dead_beef)])

        // GOAWAY: nghttp2 stops wanting input, but the socket still tells us about the FIN.
        #expect(session.wantsRead)
        writeAll(peerFD, frameBytes(type: 7, [0, 0, 0, 1, 0, 0, 0, 0] + Array("bye".utf8)))
        #expect(pump(session) == .wouldBlock)
        #expect(log.frames(.inbound).last?.payload == .goAway(lastStreamID: 1, errorCode: .noError, debugData: Array("bye".utf8)))
        #expect(!session.wantsRead)

        // A new stream after GOAWAY is refused by nghttp2, one way or the other.
        do {
            try session.submitRequest(authority: "example", path: "/late")
            session.flush()
            #expect(log.events.contains { if case .frameNotSent = $0 { return true } else { return false } })
        } catch {
            #expect(error is HTTP2SessionError)
        }

        shutdown(peerFD, Int32(SHUT_WR))
        #expect(pump(session) == .eof)
    }

    @Test func streamingRequestBodyIsSentAsItIsSubmitted() throws {
        let (clientFD, peerFD) = socketPair()
        defer { close(clientFD); close(peerFD) }
        let session = try HTTP2ClientSession(fd: clientFD)
        let stream = try session.submitGRPCRequest(path: "/pkg.Svc/Chat", authority: "svc", message: [1, 2, 3],
                                                   endStream: false, timeoutMilliseconds: 5000)
        session.flush()
        let peer = HTTP2FrameDecoder(side: .client, fromConnectionStart: true)
        var sent = frames(decodeClientBytes(peer, from: peerFD))
        #expect(sent.map(\.type) == [.settings, .headers, .data])
        if case let .headers(h)? = sent.dropFirst().first?.payload {
            #expect(h.value(":method") == "POST")
            #expect(h.value(":path") == "/pkg.Svc/Chat")
            #expect(h.value("content-type") == "application/grpc")
            #expect(h.value("te") == "trailers")
            #expect(h.value("grpc-timeout") == "5000m")
            #expect(!h.endStream)
        }
        #expect(sent.last?.payload == .data(length: 8, endStream: false, padded: false))
        // Nothing queued: the data provider is deferred, not spinning.
        #expect(session.flush() == .flushed)
        #expect(readAvailable(peerFD).isEmpty)

        try session.submitGRPCMessage(stream: stream, [4, 5])
        session.flush()
        try session.submitGRPCMessage(stream: stream, [], endStream: true)
        session.flush()
        sent = frames(decodeClientBytes(peer, from: peerFD))
        #expect(sent.map(\.payload) == [.data(length: 7, endStream: false, padded: false),
                                        .data(length: 5, endStream: true, padded: false)])
        #expect(throws: HTTP2SessionError.self) {
            try session.submitData(stream: stream, bytes: [9])
        }

        // A server reset maps to a gRPC status.
        writeAll(peerFD, frameBytes(type: 4, []) + frameBytes(type: 3, stream: UInt32(stream), [0, 0, 0, 7]))
        pump(session)
        #expect(session.response(for: stream)?.closeErrorCode == .refusedStream)
        #expect(session.response(for: stream)?.effectiveGRPCStatus == .unavailable)
    }

    @Test func gracefulDrainIsReportedFrameByFrame() throws {
        // gRPC A9: GOAWAY(2^31-1, NO_ERROR) + PING, after the ACK a GOAWAY with the real
        // last stream id, the open stream completes, then FIN.
        let (clientFD, peerFD) = socketPair()
        defer { close(clientFD); close(peerFD) }
        let log = EventLog()
        let session = try HTTP2ClientSession(fd: clientFD)
        log.attach(to: session)
        let stream = try session.submitRequest(authority: "svc", path: "/watch")
        session.flush()
        _ = readAvailable(peerFD)
        writeAll(peerFD, frameBytes(type: 4, [])
                 + frameBytes(type: 7, [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])
                 + frameBytes(type: 6, [0, 0, 0, 0, 0, 0, 0, 9]))
        pump(session)
        #expect(log.frames(.outbound).contains { $0.payload == .ping(ack: true, opaque: 9) })
        #expect(session.wantsRead) // stream 1 is still open
        writeAll(peerFD, frameBytes(type: 7, [0, 0, 0, 1, 0, 0, 0, 0])
                 + frameBytes(type: 1, flags: 0x05, stream: 1, [0x88]))
        pump(session)
        #expect(session.response(for: stream)?.status == 200)
        #expect(session.response(for: stream)?.closeErrorCode == .noError)
        #expect(!session.wantsRead)
        // Frames that still arrive after nghttp2 lost interest are reported too.
        writeAll(peerFD, frameBytes(type: 6, [0, 0, 0, 0, 0, 0, 0, 10]))
        pump(session)
        let goAways = log.frames(.inbound).compactMap { frame -> Int32? in
            if case let .goAway(last, .noError, _) = frame.payload { return last }
            return nil
        }
        #expect(goAways == [Int32.max, 1])
        #expect(log.events.contains(.ignoredFrame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 10)))))
        // nghttp2 would leave it unanswered; the session answers it as gRPC clients do
        // during a drain (A9 waits for this ACK before the final GOAWAY), and the peer gets it.
        #expect(log.frames(.outbound).contains { $0.payload == .ping(ack: true, opaque: 10) })
        _ = session.flush()
        var buf = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { recv(peerFD, $0.baseAddress, 64, Int32(MSG_DONTWAIT)) }
        #expect(n >= 17 && buf.suffix(from: max(0, n - 17)).prefix(5) == [0, 0, 8, 6, 1])
        shutdown(peerFD, Int32(SHUT_WR))
        #expect(pump(session) == .eof)
    }

    @Test func framesAfterGoAwayInTheSameReadAreNotLost() throws {
        let (clientFD, peerFD) = socketPair()
        defer { close(clientFD); close(peerFD) }
        let log = EventLog()
        let session = try HTTP2ClientSession(fd: clientFD)
        log.attach(to: session)
        session.flush()
        // No stream open: the first GOAWAY ends nghttp2's interest mid-buffer.
        writeAll(peerFD, frameBytes(type: 4, [])
                 + frameBytes(type: 7, [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])
                 + frameBytes(type: 6, [0, 0, 0, 0, 0, 0, 0, 1])
                 + frameBytes(type: 7, [0, 0, 0, 0, 0, 0, 0, 0x0b] + Array("too_many_pings".utf8)))
        pump(session)
        #expect(!session.wantsRead)
        #expect(log.frames(.inbound).map(\.type) == [.settings, .goAway])
        // nghttp2 even drops the SETTINGS ACK it owes: "The current session is closing".
        #expect(log.events.contains { if case .frameNotSent(let f, _) = $0 { return f.type == .settings } else { return false } })
        #expect(log.events.filter { if case .ignoredFrame = $0 { return true } else { return false } } == [
            .ignoredFrame(HTTP2Frame(streamID: 0, length: 8, payload: .ping(ack: false, opaque: 1))),
            .ignoredFrame(HTTP2Frame(streamID: 0, length: 22, payload: .goAway(
                lastStreamID: 0, errorCode: .enhanceYourCalm, debugData: Array("too_many_pings".utf8)))),
        ])
        shutdown(peerFD, Int32(SHUT_WR))
        #expect(pump(session) == .eof)
    }

    @Test func protocolViolationsAreReported() throws {
        let (clientFD, peerFD) = socketPair()
        defer { close(clientFD); close(peerFD) }
        let log = EventLog()
        let session = try HTTP2ClientSession(fd: clientFD)
        log.attach(to: session)
        session.flush()
        // The server's first frame must be SETTINGS; a PING on stream 1 is a connection error.
        writeAll(peerFD, frameBytes(type: 4, []) + frameBytes(type: 6, stream: 1, [0, 0, 0, 0, 0, 0, 0, 1]))
        pump(session)
        let complaints = log.events.filter {
            switch $0 {
            case .invalidFrame, .error: return true
            default: return false
            }
        }
        #expect(!complaints.isEmpty)
        // nghttp2 answers with GOAWAY PROTOCOL_ERROR.
        let goAway = log.frames(.outbound).first { $0.type == .goAway }
        if case let .goAway(_, code, _)? = goAway?.payload {
            #expect(code == .protocolError)
        } else {
            Issue.record("no GOAWAY sent: \(log.events)")
        }
    }
}

@Suite(.serialized) struct HTTP2ClientSessionNghttpdTests {
    static let nghttpd = "/usr/sbin/nghttpd"

    @Test func getPingAndPeerDeathAgainstNghttpd() throws {
        guard TestEnvironment.executableExists(Self.nghttpd) else {
            if TestEnvironment.isCI {
                Issue.record("\(Self.nghttpd) is missing (install nghttp2-server); CI must not skip")
            }
            return
        }
        let docroot = TemporaryDirectory()
        defer { docroot.remove() }
        var rng = SplitMix64(seed: 7)
        let body = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) } // > one 64 KiB window
        docroot.write("blob.bin", body)

        // Start nghttpd on a port that was free; retry if someone took it meanwhile.
        var server: (pid: pid_t, port: UInt16, fd: Int32)?
        for _ in 0..<3 where server == nil {
            guard let port = freeLoopbackPort(),
                  let pid = spawn([Self.nghttpd, "--no-tls", "-a", "127.0.0.1", "-d", docroot.path, String(port)])
            else { continue }
            if let fd = connectLoopback(port: port, retryingFor: 5) {
                server = (pid, port, fd)
            } else {
                stopProcess(pid)
            }
        }
        guard let server else {
            Issue.record("could not start nghttpd")
            return
        }
        var serverRunning = true
        defer {
            if serverRunning { stopProcess(server.pid) }
            close(server.fd)
        }

        let log = EventLog()
        let session = try HTTP2ClientSession(fd: server.fd)
        log.attach(to: session)
        let stream = try session.submitRequest(authority: "127.0.0.1:\(server.port)", path: "/blob.bin")
        let ended = drive(session, for: 10) { session.response(for: stream)?.isClosed == true }
        #expect(ended == nil)

        let outbound = log.frames(.outbound), inbound = log.frames(.inbound)
        #expect(outbound.contains { if case .settings(false, _) = $0.payload { return true } else { return false } })
        #expect(inbound.contains { if case .settings(false, _) = $0.payload { return true } else { return false } })
        #expect(inbound.contains { $0.payload == .settings(ack: true, []) })
        #expect(outbound.contains { $0.payload == .settings(ack: true, []) })
        let responseHeaders = inbound.first { $0.type == .headers && $0.streamID == stream }
        if case let .headers(h)? = responseHeaders?.payload {
            #expect(h.value(":status") == "200")
            #expect(h.value("content-length") == "100000")
        } else {
            Issue.record("no response HEADERS: \(log.events)")
        }
        let dataBytes = inbound.reduce(0) {
            if case let .data(length, _, _) = $1.payload, $1.streamID == stream { return $0 + length }
            return $0
        }
        #expect(dataBytes == body.count)
        #expect(session.response(for: stream)?.status == 200)
        #expect(session.response(for: stream)?.dataBytes == body.count)
        #expect(log.events.contains(.streamClosed(streamID: stream, errorCode: .noError)))
        // 100 000 bytes need the window reopened: nghttp2 sent WINDOW_UPDATEs by itself.
        #expect(outbound.contains { $0.type == .windowUpdate })

        // PING round trip.
        let opaque: UInt64 = 0x0123_4567_89ab_cdef
        try session.submitPing(opaque: opaque)
        let pinged = drive(session, for: 5) {
            log.frames(.inbound).contains { $0.payload == .ping(ack: true, opaque: opaque) }
        }
        #expect(pinged == nil)
        #expect(log.frames(.outbound).contains { $0.payload == .ping(ack: false, opaque: opaque) })
        #expect(log.frames(.inbound).contains { $0.payload == .ping(ack: true, opaque: opaque) })

        // Kill the server (by PID): the session must see the connection end.
        stopProcess(server.pid, signal: SIGTERM)
        serverRunning = false
        let end = drive(session, for: 5) { false }
        switch end {
        case .eof?, .error(errno: ECONNRESET)?:
            break
        default:
            Issue.record("expected EOF or ECONNRESET after killing nghttpd, got \(String(describing: end))")
        }
    }
}
