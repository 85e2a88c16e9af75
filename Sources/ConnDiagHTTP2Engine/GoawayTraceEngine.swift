import Glibc
import ConnDiagCore
import ConnDiagHTTP2
import ConnDiagDiagnosis
import ConnDiagTCP
import ConnDiagPlatform
import ConnDiagTLS

/// What each stream of a goaway-trace run sends.
public enum StreamKind: Sendable, Equatable {
    case http(method: String, path: String)
    /// POST whose request body stays open (an upload in progress) until finished.
    case httpUpload(path: String)
    case grpcUnary(String)
    case grpcServerStream(String)
    case grpcBidi(String)

    var isGRPC: Bool { if case .http = self { return false } else { return true } }
    var label: String {
        switch self {
        case .http(let m, let p): return "\(m) \(p)"
        case .httpUpload(let p): return "POST \(p) (request body open)"
        case .grpcUnary(let m): return "unary \(m)"
        case .grpcServerStream(let m): return "server-stream \(m)"
        case .grpcBidi(let m): return "bidi \(m)"
        }
    }
}

public struct GoawayTraceConfig {
    public var target: TargetSpec
    public var family: AddressFamilyChoice = .any
    public var options = SocketOptions()
    public var connectTimeout: Double? = 10
    public var namespace: String?
    public var interface: String?
    public var writePcap: String?
    public var captureEnabled = true
    public var authority: String
    public var kind: StreamKind = .http(method: "GET", path: "/")
    public var message: [UInt8] = []
    public var streams = 1
    public var newStreamInterval: Double?
    /// gRPC-style keepalive PINGs (A8): this long after the last read.
    public var pingTime: Double?
    public var pingTimeout: Double = 20
    public var permitWithoutStream = false
    /// Stop after this long (seconds after the connection is up).
    public var duration: Double?
    /// With `.httpUpload`: end each request body this long after its stream opened.
    public var finishRequestAfter: Double?
    /// HTTP/2 over TLS (ALPN h2 required) instead of prior-knowledge h2c.
    public var tls: TLSOptions?
    public var actions: [ScheduledAction] = []
    public init(target: TargetSpec) { self.target = target; authority = target.host }
}

/// One stream of the trace.
public struct StreamRecord: Sendable {
    public var id: Int32
    public var openedAt: Double
    public var endedAt: Double?
    public var end: StreamEnd = .open
    public var openAtFirstGoaway = false
    public var http: HTTP2StreamResponse?
    var notSent = false
    var inboundReset: HTTP2ErrorCode?
    var bodyFinished = false
}

public struct GoawayRecord: Sendable {
    public var t: Double
    public var lastStreamID: Int32
    public var code: HTTP2ErrorCode
    public var debug: String
}

/// Opens one HTTP/2 connection, starts streams, records every frame both ways and the TCP
/// end of the connection, then says what happened to each stream and what each kind of
/// client would report.
public final class GoawayTraceEngine {
    public let config: GoawayTraceConfig
    public let timeline: Timeline
    private let captures = CaptureSet()
    public private(set) var streams: [StreamRecord] = []
    public private(set) var goaways: [GoawayRecord] = []
    private var session: HTTP2ClientSession?
    private var headersSeen: Set<Int32> = []
    private var lastReadAt = 0.0
    private var outstandingPing: (opaque: UInt64, sentAt: Double)?
    private var pingsSent = 0
    private var pingRTTs = SampleSummary()
    private var serverPingsAfterGoaway = 0
    var lastDrain: GoawayDrain?
    /// RST_STREAMs from the server, as evidence for the diagnosers.
    var inboundResets: [RSTStreamEvidence] = []
    /// Set when a GOAWAY arrives: with --new-stream-interval one stream is tried at once, to
    /// show that a draining connection refuses new streams.
    private var probeAfterGoaway = false
    /// Protocol violations by the server that the HTTP/2 stack detected: (time, reason).
    var protocolErrors: [(t: Double, reason: String)] = []
    var serverPingsAfterGoawayCount: Int { serverPingsAfterGoaway }
    /// Frames from the server, valid or not: none means it never spoke HTTP/2.
    private(set) var inboundFrames = 0
    var pingsSentCount: Int { pingsSent }
    var pingRTTSummary: SampleSummary { pingRTTs }

    public init(config: GoawayTraceConfig, timeline: Timeline = Timeline()) {
        self.config = config
        self.timeline = timeline
    }

    public func run() throws -> Report {
        try NetworkNamespace.run(config.namespace) { try runInNamespace() }
    }

    private var clock: RunClock { timeline.clock }

    private func runInNamespace() throws -> Report {
        let address = try Resolver.resolve(config.target.host, family: config.family)[0]
        let kernel = KernelSettings.read()
        defer { captures.close() }
        if config.captureEnabled {
            try captures.open(addresses: [address], port: config.target.port, interface: config.interface, writePcap: config.writePcap)
        }
        let remote = SocketAddress(ip: address, port: config.target.port)
        let target = TargetInfo(host: config.target.host, address: address.description, port: Int(config.target.port))
        var interrupted = false
        var settings: [(String, JSONValue)] = []
        let outcome: Outcome
        do {
            let c = try LiveConnection(remote: remote, options: config.options, captures: captures, timeline: timeline)
            defer { c.socket.close() }
            settings = c.effective.json(source: nil)
            (outcome, interrupted) = trace(c)
        } catch let e as SyscallError {
            outcome = Outcome(status: .error, mechanism: .none, detectedAt: clock.now(), errno: e.errnoName, summary: e.description)
        }
        settings += [("streams", .int(Int64(config.streams))), ("stream_kind", .string(config.kind.label)),
                     ("new_stream_interval_s", config.newStreamInterval.map { .double($0) } ?? .null),
                     ("ping_time_s", config.pingTime.map { .double($0) } ?? .null),
                     ("permit_without_stream", .bool(config.permitWithoutStream)),
                     ("for_s", config.duration.map { .double($0) } ?? .null)]
        let attempt = AttemptReport(index: 1, target: target, events: timeline.events, elision: timeline.elision, outcome: outcome)
        return Report(command: "goaway-trace", target: target, settings: settings, kernel: kernel,
                      capture: captures.isActive, captureNote: captures.note, attempts: [attempt],
                      outcome: outcome, interrupted: interrupted,
                      extras: [("streams", .array(streams.map(streamJSON))), ("drain", drainJSON()), ("pings", pingsJSON())],
                      http2Streams: streams.map(streamRow))
    }

    // MARK: - The trace loop

    /// How the connection ended; `tlsAlert`: a fatal TLS alert (over --tls), by its wording.
    enum ConnectionEnd { case eof, error(Int32), pingTimeout(Double), sessionFailed(String), tlsAlert(String) }

    /// Whether `fd` has something to read (or an error or hang-up) right now.
    static func readable(_ fd: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if case .value(let n) = Syscall.poll(&fds, timeoutMs: 0) { return n > 0 }
        return false
    }

    /// A transport failure as the end it is: a TLS alert apart from other failures.
    static func end(_ e: TransportError) -> ConnectionEnd {
        if case .tlsAlert = e { return .tlsAlert(e.description) }
        return .sessionFailed(e.description)
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    private func trace(_ c: LiveConnection) -> (Outcome, Bool) {
        let started = clock.now()
        var first = c.startConnect()
        c.add(Event(t: started, source: .app, kind: .connectStart, detail: "connect \(c.local) -> \(c.remote)"))
        if first == nil {
            let (r, at) = c.waitForConnect(started: started, deadline: config.connectTimeout.map { started + $0 }, safetyCap: started + 300)
            switch r {
            case .connected: first = 0
            case .failed(let e): first = e
            case .interrupted: return (Outcome(status: .error, mechanism: .none, summary: "interrupted while connecting"), true)
            case .deadline, .safetyCap:
                return (Outcome(status: .timeout, mechanism: .deadline, detectedAt: at, summary: "could not connect within \(DurationText.format(at - started))"), false)
            }
        }
        if let e = first, e != 0 {
            c.drainCaptures(until: .connect(errno: e), atMost: 0.1)
            let name = ErrnoName.name(e)
            return (Outcome(status: e == ECONNREFUSED ? .refused : .error, mechanism: e == ECONNREFUSED ? .rst : .none, detectedAt: clock.now(),
                            errno: name, summary: "could not connect: \(ErrnoName.message(e)) (\(name))"), false)
        }
        let established = clock.now()
        lastReadAt = established
        c.add(Event(t: established, source: .socket, kind: .connected, detail: config.tls == nil ? "connected; HTTP/2 with prior knowledge" : "connected"))
        var transport: ByteTransport = SocketTransport(fd: c.socket.fd)
        if let options = config.tls {
            switch handshakeTLS(c, options: options) {
            case .success(let t): transport = t
            case .failure(let end): return (end.outcome, end.interrupted)
            }
        }
        let s: HTTP2ClientSession
        do { s = try HTTP2ClientSession(transport: transport) } catch {
            return (Outcome(status: .error, mechanism: .none, detectedAt: clock.now(), summary: "HTTP/2 session: \(error)"), false)
        }
        session = s
        s.onEvent = { [unowned self] e in self.record(e) }
        for _ in 0..<config.streams { openStream() }
        var actions = config.actions.sorted { $0.after < $1.after }
        var nextStream = config.newStreamInterval.map { established + $0 } ?? .infinity
        let end = config.duration.map { established + $0 }
        var ended: (at: Double, how: ConnectionEnd)?
        var interrupted = false
        var wantWrite = true
        var nextSample = established
        // Keep reading after GOAWAY (nghttp2 stops wanting reads) to see FIN or RST.
        func readAvailable() {
            while true {
                switch s.readFromSocket() {
                case .read:
                    self.lastReadAt = clock.now()
                    if let p = self.outstandingPing, self.lastReadAt > p.sentAt { self.outstandingPing = nil }
                case .wouldBlock: wantWrite = true; return
                case .eof: ended = (clock.now(), .eof); return
                case .error(let e): ended = (clock.now(), .error(e)); return
                case .transportFailed(let e): ended = (clock.now(), Self.end(e)); return
                case .sessionFailed(let err): ended = (clock.now(), .sessionFailed(err.description)); return
                }
            }
        }
        let socket = c.reactor.register(fd: c.socket.fd, interest: .readable) { readiness in
            if readiness.contains(.writable) { wantWrite = true }
            guard !readiness.isDisjoint(with: [.readable, .error, .hangup]) else { return }
            readAvailable()
        }
        defer { c.reactor.deregister(socket) }

        loop: while true {
            let now = clock.now()
            if let e = end, now >= e { break }
            while let a = actions.first, now >= established + a.after {
                actions.removeFirst()
                do { try a.run(); c.add(Event(t: clock.now(), source: .app, kind: "fault", detail: a.label)) } catch {
                    c.add(Event(t: clock.now(), source: .app, kind: .error, detail: "\(a.label) failed: \(error)"))
                }
            }
            if now >= nextStream { openStream(); nextStream += config.newStreamInterval!; wantWrite = true }
            if probeAfterGoaway { probeAfterGoaway = false; openStream(); wantWrite = true }
            if let f = config.finishRequestAfter, case .httpUpload = config.kind {
                for i in streams.indices where !streams[i].bodyFinished && !streams[i].notSent && now >= streams[i].openedAt + f {
                    streams[i].bodyFinished = true
                    if (try? s.submitData(stream: streams[i].id, bytes: [], endStream: true)) != nil {
                        wantWrite = true
                        c.add(Event(t: now, source: .app, kind: "request-end", detail: "stream \(streams[i].id): request body finished"))
                    }
                }
            }
            if let p = outstandingPing, now - p.sentAt >= config.pingTimeout {
                c.add(Event(t: now, source: .app, kind: "ping-timeout", detail: "no PING ACK within \(DurationText.format(config.pingTimeout))"))
                ended = (now, .pingTimeout(p.sentAt)); break
            }
            if let t = config.pingTime, outstandingPing == nil, now - lastReadAt >= t, goaways.isEmpty,
               openStreams > 0 || config.permitWithoutStream {
                pingsSent += 1
                if (try? s.submitPing(opaque: UInt64(pingsSent))) != nil { outstandingPing = (UInt64(pingsSent), now); wantWrite = true }
            }
            if now >= nextSample { c.sampleInfo(at: now); nextSample = now + 0.25 }
            // Over TLS, read what has arrived before writing: a server that closes after an
            // alert (certificate_required comes after TLS 1.3's handshake) would otherwise turn
            // the alert into EPIPE, and OpenSSL allows no read after a failed write.
            if config.tls != nil && (wantWrite || s.wantsWrite) && Self.readable(c.socket.fd) {
                readAvailable()
                if ended != nil { break }
            }
            if wantWrite || s.wantsWrite {
                switch s.flush() {
                case .flushed: wantWrite = false
                case .wouldBlock: wantWrite = true
                case .error(let e): ended = (clock.now(), .error(e)); break loop
                case .transportFailed(let e): ended = (clock.now(), Self.end(e)); break loop
                case .sessionFailed(let err): ended = (clock.now(), .sessionFailed(err.description)); break loop
                }
            }
            var wake = min(nextStream, nextSample)
            if let e = end { wake = min(wake, e) }
            if let a = actions.first { wake = min(wake, established + a.after) }
            if let f = config.finishRequestAfter, let next = streams.filter({ !$0.bodyFinished && !$0.notSent }).map({ $0.openedAt + f }).min() { wake = min(wake, next) }
            if let p = outstandingPing { wake = min(wake, p.sentAt + config.pingTimeout) } else if let t = config.pingTime { wake = min(wake, lastReadAt + t) }
            c.reactor.setInterest(wantWrite ? [.readable, .writable] : .readable, for: socket)
            if !c.reactor.runOnce(timeout: min(1, wake - clock.now())) { interrupted = true; break }
            if ended != nil { break }
        }
        let stopAt = clock.now()
        c.drainCaptures(until: ended.map { Self.explanation(of: $0.how) } ?? .nothing)
        classifyStreams(endedAt: ended?.at, how: ended.map { describe($0.how) })
        return (verdict(established: established, ended: ended, stopAt: stopAt, interrupted: interrupted, wire: c.wire.items), interrupted)
    }

    /// The packets that explain how the connection ended; an HTTP/2-level end (PING timeout,
    /// a failed session) leaves the TCP connection open, with nothing to wait for.
    static func explanation(of end: ConnectionEnd) -> WireExplanation {
        switch end {
        case .eof: return .peerFIN
        case .error(let e): return .end(errno: e, eof: false)
        case .pingTimeout, .sessionFailed, .tlsAlert: return .nothing
        }
    }

    private var openStreams: Int { streams.filter { $0.endedAt == nil && !$0.notSent }.count }

    private func openStream() {
        guard let s = session else { return }
        let now = clock.now()
        do {
            let id: Int32
            switch config.kind {
            case .http(let method, let path):
                id = try s.submitRequest(method: method, authority: config.authority, path: path)
            case .httpUpload(let path):
                id = try s.submitRequest(method: "POST", authority: config.authority, path: path, body: [], endStream: false)
            case .grpcUnary(let m):
                id = try s.submitGRPCRequest(path: m, authority: config.authority, message: config.message, endStream: true)
            case .grpcServerStream(let m):
                id = try s.submitGRPCRequest(path: m, authority: config.authority, message: config.message, endStream: true)
            case .grpcBidi(let m):
                id = try s.submitGRPCRequest(path: m, authority: config.authority, message: config.message, endStream: false)
            }
            streams.append(StreamRecord(id: id, openedAt: now))
        } catch {
            // nghttp2 refuses new streams once a GOAWAY arrived: the request never left.
            var r = StreamRecord(id: 0, openedAt: now)
            r.notSent = true
            r.endedAt = now
            r.end = .refusedByGoaway(lastStreamID: goaways.last?.lastStreamID ?? 0)
            streams.append(r)
            timeline.append(Event(t: now, source: .app, kind: "stream-refused", detail: "new stream not sent: \(error)"))
        }
    }

    private func recordFrame(_ direction: HTTP2Direction, _ frame: HTTP2Frame, ignored: Bool, at now: Double) {
        if direction == .inbound { inboundFrames += 1 }
        var notes = HTTP2FrameEvent.Notes()
        if case .headers = frame.payload, direction == .inbound {
            notes.isTrailers = headersSeen.contains(frame.streamID)
            headersSeen.insert(frame.streamID)
        }
        switch frame.payload {
        case .goAway(let last, let code, let debug) where direction == .inbound:
            let rec = GoawayRecord(t: now, lastStreamID: last, code: code, debug: String(decoding: debug.prefix(512), as: UTF8.self))
            if goaways.isEmpty {
                for i in streams.indices where streams[i].endedAt == nil && !streams[i].notSent { streams[i].openAtFirstGoaway = true }
            }
            goaways.append(rec)
            if config.newStreamInterval != nil { probeAfterGoaway = true }
        case .ping(let ack, let opaque):
            if direction == .inbound, ack, let p = outstandingPing, p.opaque == opaque {
                let rtt = now - p.sentAt
                pingRTTs.add(rtt)
                notes.pingRTT = rtt
                outstandingPing = nil
            }
            if direction == .inbound, !ack, !goaways.isEmpty { serverPingsAfterGoaway += 1 }
        case .goAway(_, let code, let debug) where direction == .outbound && code != .noError:
            let text = String(decoding: debug.prefix(200), as: UTF8.self)
            protocolErrors.append((now, "conndiag's HTTP/2 stack answered GOAWAY \(code.name)" + (text.isEmpty ? "" : " (\"\(text)\")")))
        case .rstStream(let code) where direction == .inbound:
            inboundResets.append(RSTStreamEvidence(t: now, from: .server, streamID: frame.streamID, code: code))
            if let i = streams.firstIndex(where: { $0.id == frame.streamID }) { streams[i].inboundReset = code }
        default: break
        }
        var e = HTTP2FrameEvent.event(frame, from: direction.sender, direction: direction.timelineDirection, at: now, notes: notes)
        if ignored { e.detail += " (after GOAWAY; nghttp2 no longer processes frames)" }
        timeline.append(e)
    }

    private func record(_ event: HTTP2SessionEvent) {
        let now = clock.now()
        switch event {
        case .frame(let direction, let frame):
            recordFrame(direction, frame, ignored: false, at: now)
        case .ignoredFrame(let frame):
            recordFrame(.inbound, frame, ignored: true, at: now)
        case .streamClosed(let id, let code):
            if let i = streams.firstIndex(where: { $0.id == id }) {
                streams[i].endedAt = now
                if code == .refusedStream, let g = goaways.last, id > g.lastStreamID {
                    streams[i].end = .refusedByGoaway(lastStreamID: g.lastStreamID)
                }
            }
            timeline.append(Event(t: now, source: .h2, kind: "stream-closed", detail: "stream \(id) closed (\(code.name))",
                                  fields: [("stream_id", .int(Int64(id))), ("error_code", .string(code.name))]))
        case .invalidFrame(let frame, let err):
            inboundFrames += 1
            protocolErrors.append((now, "invalid \(frame.type.name) on stream \(frame.streamID): \(err.message)"))
            timeline.append(Event(t: now, source: .h2, kind: .invalid, direction: .in, detail: "invalid \(frame.type.name): \(err.message)"))
        case .invalidHeader(let id, let h):
            inboundFrames += 1
            timeline.append(Event(t: now, source: .h2, kind: .invalid, direction: .in, detail: "invalid header \(h.name) on stream \(id)"))
        case .frameNotSent(let frame, let err):
            if case .headers = frame.payload, let i = streams.firstIndex(where: { $0.id == frame.streamID }) {
                streams[i].notSent = true
                streams[i].endedAt = now
                streams[i].end = .refusedByGoaway(lastStreamID: goaways.last?.lastStreamID ?? 0)
            }
            var isHeaders = false
            if case .headers = frame.payload { isHeaders = true }
            timeline.append(Event(t: now, source: .h2, kind: isHeaders ? "stream-refused" : "frame-not-sent", direction: .out,
                                  detail: "\(frame.type.name) on stream \(frame.streamID) not sent: \(err.message)"))
        case .error(let err):
            protocolErrors.append((now, err.message))
            timeline.append(Event(t: now, source: .h2, kind: .error, detail: err.description))
        }
    }

    private func describe(_ how: ConnectionEnd) -> String {
        switch how {
        case .eof: return "FIN from the server"
        case .error(let e): return e == ECONNRESET ? "RST from the server" : ErrnoName.name(e)
        case .pingTimeout: return "PING timeout"
        case .sessionFailed(let m), .tlsAlert(let m): return m
        }
    }

    private func classifyStreams(endedAt: Double?, how: String?) {
        for i in streams.indices {
            var r = streams[i]
            r.http = session?.response(for: r.id)
            if r.notSent { streams[i] = r; continue }
            if case .refusedByGoaway = r.end { streams[i] = r; continue }
            let resp = r.http
            let grpc = resp?.grpcStatus
            // RST_STREAM(NO_ERROR) after a complete response only stops the request (RFC 9113 §8.1).
            if let code = r.inboundReset, !(code == .noError && resp?.endStreamReceived == true) {
                r.end = .reset(code, afterTrailers: resp?.endStreamReceived == true ? grpc : nil)
            } else if resp?.endStreamReceived == true {
                r.end = .completed(httpStatus: resp?.status, grpcStatus: grpc, grpcMessage: resp?.grpcMessage)
            } else if r.endedAt != nil, let code = resp?.closeErrorCode, code != .noError {
                r.end = .reset(code, afterTrailers: nil)
            } else if let how, endedAt != nil {
                r.end = .killedByConnectionClose(how: how)
                if r.endedAt == nil { r.endedAt = endedAt }
            } else {
                r.end = .open
            }
            streams[i] = r
        }
    }
}
