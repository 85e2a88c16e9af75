import Glibc
import ConnDiagCore
import ConnDiagHTTP2
import ConnDiagDiagnosis
import ConnDiagTCP
import ConnDiagPlatform
import ConnDiagTLS

/// Which gRPC client's keepalive behaviour to imitate (`--grpc-client`).
public enum GRPCClientFamily: String, CaseIterable, Sendable {
    case go, java, core

    /// Smallest keepalive time the library accepts; shorter values are raised to it.
    /// grpc-go keepalive.ClientParameters.Time and grpc-java keepAliveTime both document
    /// a 10 s minimum; C-core takes GRPC_ARG_KEEPALIVE_TIME_MS as given.
    public var minimumPingTime: Double { self == .core ? 0 : 10 }

    /// gRPC proposal A18: with keepalive on, the client sets TCP_USER_TIMEOUT to the
    /// keepalive timeout, so unacknowledged data also ends the connection that soon.
    public var setsUserTimeoutToPingTimeout: Bool { true }
}

/// The HTTP/2 keepalive policy of gRPC proposal A8 plus the streams that keep the
/// connection "active".
public struct H2KeepalivePolicy: Sendable {
    public var pingTime: Double?        // nil: no PING keepalive
    public var pingTimeout: Double = 20
    public var permitWithoutStream = false
    public var streams = 1
    public var path = "/"
    public var grpcMethod: String?
    public var requestInterval: Double?
    public var authority: String
    public var client: GRPCClientFamily?
    public init(authority: String) { self.authority = authority }
}

/// Drives an HTTP/2 session for `keepalive-test --traffic h2`: opens the streams, sends
/// requests on an interval, and sends PINGs `pingTime` after the last read as gRPC's
/// keepalive does; a PING whose ACK (or any read) has not come `pingTimeout` later ends
/// the connection (mechanism h2-ping-timeout).
public final class H2PingKeepalive: H2KeepaliveDriver {
    public let policy: H2KeepalivePolicy
    private var session: HTTP2ClientSession?
    private var timeline: Timeline!
    private var clock: RunClock { timeline.clock }
    var timelineClock: RunClock { timeline.clock }
    func record(_ e: Event) { timeline.append(e) }
    public private(set) var lastReadAt: Double = 0
    public private(set) var pingsSent = 0
    private var outstandingPing: (opaque: UInt64, sentAt: Double)?
    private var pingRTTs = SampleSummary()
    private var nextRequest: Double = .infinity
    private var openedAt: [Int32: Double] = [:]
    private var closed: [Int32: (at: Double, code: HTTP2ErrorCode)] = [:]
    private var headersSeen: Set<Int32> = []
    private var wantWrite = false

    /// HTTP/2 over TLS (ALPN h2) instead of prior-knowledge h2c.
    public var tls: TLSOptions?

    public init(policy: H2KeepalivePolicy, tls: TLSOptions? = nil) { self.policy = policy; self.tls = tls }

    /// PING time in force after the client library's own minimum.
    public var effectivePingTime: Double? {
        guard let t = policy.pingTime else { return nil }
        return max(t, policy.client?.minimumPingTime ?? 0)
    }

    public var pingPolicy: (time: Double, timeout: Double)? { effectivePingTime.map { ($0, policy.pingTimeout) } }

    public var settings: [(String, JSONValue)] {
        var s: [(String, JSONValue)] = [
            ("ping_time_s", policy.pingTime.map { .double($0) } ?? .null),
            ("ping_time_effective_s", effectivePingTime.map { .double($0) } ?? .null),
            ("ping_timeout_s", .double(policy.pingTimeout)),
            ("permit_without_stream", .bool(policy.permitWithoutStream)),
            ("streams", .int(Int64(policy.streams))),
            ("request_interval_s", policy.requestInterval.map { .double($0) } ?? .null),
            ("grpc_client", policy.client.map { .string($0.rawValue) } ?? .null),
        ]
        if let g = policy.grpcMethod { s.append(("grpc_method", .string(g))) } else { s.append(("path", .string(policy.path))) }
        return s
    }

    public func start(fd: Int32, timeline: Timeline, established: Double) throws {
        self.timeline = timeline
        let transport: ByteTransport = try tls.map { try handshake(fd: fd, options: $0) } ?? SocketTransport(fd: fd)
        let s = try HTTP2ClientSession(transport: transport)
        session = s
        lastReadAt = established
        s.onEvent = { [unowned self] event in self.record(event) }
        for _ in 0..<policy.streams { try openLongStream() }
        if let i = policy.requestInterval { nextRequest = established + i }
        wantWrite = true
    }

    /// A stream that stays open: a request whose body never ends (nghttpd waits for it),
    /// or a client-streaming gRPC call.
    private func openLongStream() throws {
        guard let s = session else { return }
        let id: Int32
        if let m = policy.grpcMethod {
            id = try s.submitGRPCRequest(path: m, authority: policy.authority, message: [], endStream: false)
        } else {
            id = try s.submitRequest(method: "POST", authority: policy.authority, path: policy.path, body: [], endStream: false)
        }
        openedAt[id] = clock.now()
    }

    private func record(_ event: HTTP2SessionEvent) {
        let now = clock.now()
        switch event {
        case .frame(let dir, let frame):
            var notes = HTTP2FrameEvent.Notes()
            if case .headers = frame.payload, dir == .inbound {
                notes.isTrailers = headersSeen.contains(frame.streamID)
                headersSeen.insert(frame.streamID)
            }
            if case .ping(true, let opaque) = frame.payload, dir == .inbound, let p = outstandingPing, p.opaque == opaque {
                let rtt = now - p.sentAt
                pingRTTs.add(rtt)
                notes.pingRTT = rtt
                outstandingPing = nil
            }
            var e = HTTP2FrameEvent.event(frame, from: dir.sender, direction: dir.timelineDirection, at: now, notes: notes)
            if case .ping(false, _) = frame.payload, dir == .outbound, pingsSent > 0 {
                e.detail += " (keepalive: \(DurationText.format(now - lastReadAt)) since the last read)"
            }
            timeline.append(e)
        case .ignoredFrame(let frame):
            timeline.append(Event(t: now, source: .h2, kind: "ignored-frame", direction: .in, detail: "\(frame.type.name) ignored by nghttp2 (stream \(frame.streamID))"))
        case .streamClosed(let id, let code):
            closed[id] = (now, code)
        case .invalidFrame(let frame, let error):
            timeline.append(Event(t: now, source: .h2, kind: .invalid, direction: .in, detail: "invalid \(frame.type.name): \(error.message)"))
        case .invalidHeader(let id, let header):
            timeline.append(Event(t: now, source: .h2, kind: .invalid, direction: .in, detail: "invalid header on stream \(id): \(header.name)"))
        case .frameNotSent(let frame, let error):
            timeline.append(Event(t: now, source: .h2, kind: .error, direction: .out, detail: "\(frame.type.name) not sent: \(error.message)"))
        case .error(let error):
            timeline.append(Event(t: now, source: .h2, kind: .error, detail: error.description))
        }
    }

    public var pollEvents: Int16 { Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0) }

    private var activeStreams: Int { openedAt.keys.filter { closed[$0] == nil }.count }

    public func onReadable(now: Double) -> H2DriverEnd? {
        guard let s = session else { return nil }
        while true {
            switch s.readFromSocket() {
            case .read:
                lastReadAt = clock.now()
                // Any read after the PING proves the peer alive (grpc-go checks reads).
                if let p = outstandingPing, lastReadAt > p.sentAt { outstandingPing = nil }
            case .wouldBlock: return flush(now: clock.now())
            case .eof: return .eof
            case .error(let e): return .error(e)
            // Plain h2c: no TLS to fail; any other transport failure ends HTTP/2 itself.
            case .transportFailed(let e): return .protocolError(e.description)
            case .sessionFailed(let error): return .protocolError(error.description)
            }
        }
    }

    public func flush(now: Double) -> H2DriverEnd? {
        guard let s = session else { return nil }
        switch s.flush() {
        case .flushed: wantWrite = false; return nil
        case .wouldBlock: wantWrite = true; return nil
        case .error(let e): return .error(e)
        case .transportFailed(let e): return .protocolError(e.description)
        case .sessionFailed(let error): return .protocolError(error.description)
        }
    }

    public func onTick(now: Double) -> H2DriverEnd? {
        guard let s = session else { return nil }
        if let p = outstandingPing, now - p.sentAt >= policy.pingTimeout {
            // A8: no ACK within the timeout: the client closes the connection.
            timeline.append(Event(t: now, source: .app, kind: "ping-timeout",
                                  detail: "no PING ACK within \(DurationText.format(policy.pingTimeout)); closing the connection"))
            return .pingTimeout(sentAt: p.sentAt)
        }
        if now >= nextRequest, let i = policy.requestInterval {
            if let m = policy.grpcMethod {
                _ = try? s.submitGRPCRequest(path: m, authority: policy.authority, message: [])
            } else {
                _ = try? s.submitRequest(authority: policy.authority, path: policy.path)
            }
            nextRequest += i
            wantWrite = true
        }
        if let t = effectivePingTime, outstandingPing == nil, now - lastReadAt >= t,
           activeStreams > 0 || policy.permitWithoutStream || policy.requestInterval != nil {
            pingsSent += 1
            let opaque = UInt64(pingsSent)
            if (try? s.submitPing(opaque: opaque)) != nil {
                outstandingPing = (opaque, now)
                wantWrite = true
            }
        }
        return wantWrite ? flush(now: now) : nil
    }

    public func nextDeadline(now: Double) -> Double? {
        var d = nextRequest
        if let p = outstandingPing { d = min(d, p.sentAt + policy.pingTimeout) }
        else if let t = effectivePingTime { d = min(d, lastReadAt + t) }
        return d.isFinite ? d : nil
    }

    public func reportExtras() -> [(String, JSONValue)] {
        let streams: [JSONValue] = openedAt.keys.sorted().map { id in
            var b = JSONObjectBuilder()
            b.add("stream_id", Int(id))
            b.add("opened_at", round6(openedAt[id]!))
            if let c = closed[id] {
                b.add("closed_at", round6(c.at))
                b.add("error_code", c.code.name)
            } else {
                b.add("state", "open")
            }
            if let r = session?.response(for: id) {
                b.add("status", r.status)
                b.add("data_bytes", r.dataBytes)
                if let g = r.trailer("grpc-status") ?? r.header("grpc-status") { b.add("grpc_status", g) }
            }
            return b.value
        }
        var pings = JSONObjectBuilder()
        pings.add("sent", pingsSent)
        pings.add("acked", pingRTTs.count)
        pingRTTs.addMilliseconds(to: &pings, prefix: "rtt")
        return [("streams", .array(streams)), ("pings", pings.value)]
    }
}
