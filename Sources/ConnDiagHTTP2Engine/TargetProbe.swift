import Glibc
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2
import ConnDiagTCP
import ConnDiagPlatform

/// One address being probed: a non-blocking state machine the ProbeEngine's reactor
/// drives. Phases run in order and each has a deadline.
final class TargetProbe {
    enum Phase { case connecting, tls, h2Settings, pinging, health, holding, done }

    unowned let engine: ProbeEngine
    let remote: SocketAddress
    var result: ProbeResult
    private var socket: TCPSocket?
    private var tls: ProbeTLSSession?
    private var session: HTTP2ClientSession?
    private(set) var phase: Phase = .connecting
    private var phaseStart = 0.0
    private(set) var deadline = 0.0
    private var connectStart = 0.0
    private var wantWrite = false
    private var tlsWants: Int16 = Int16(POLLIN)
    private var serverSettingsSeen = false
    private var pingSentAt: Double?
    private var healthStream: Int32?
    private var healthBytes: [UInt8] = []
    /// 0: the main hold; 1: the repeat with keepalive (or PINGs) on.
    private var holdRound = 0
    private var holdEnds = 0.0
    private var nextHoldPing = Double.infinity
    private var goawayDuringHold: (code: String, debug: String)?
    private var config: ProbeConfig { engine.config }
    private var clock: RunClock { engine.clock }

    init(engine: ProbeEngine, target: TargetInfo, remote: SocketAddress, dnsAddresses: [String], dnsMs: Double?) {
        self.engine = engine
        self.remote = remote
        result = ProbeResult(target: target, outcome: Outcome(status: .error, mechanism: .none, summary: "not finished"))
        result.dnsAddresses = dnsAddresses
        result.dnsMs = dnsMs
    }

    var isDone: Bool { phase == .done }
    var fd: Int32 { socket?.fd ?? -1 }

    var pollEvents: Int16 {
        switch phase {
        case .connecting: return Int16(POLLOUT)
        case .tls: return tlsWants
        case .done: return 0
        default: return Int16(POLLIN) | (wantWrite ? Int16(POLLOUT) : 0)
        }
    }

    // MARK: phases

    func start() { connect(options: config.options) }

    private func connect(options: SocketOptions) {
        let now = clock.now()
        do {
            let s = try TCPSocket(family: remote.family)
            try s.apply(options)
            socket = s
            connectStart = now
            enter(.connecting, deadline: now + config.connectTimeout, now: now)
            if try s.startConnect(to: remote) { connected(now: clock.now()) }
        } catch let e as SyscallError {
            connectFailed(e.errno.rawValue, now: clock.now())
        } catch {
            fail(status: .error, mechanism: .none, errno: nil, summary: "\(error)", now: now)
        }
    }

    private func enter(_ p: Phase, deadline: Double, now: Double) {
        phase = p
        phaseStart = now
        self.deadline = deadline
    }

    func handle(_ revents: Int16, now: Double) {
        switch phase {
        case .connecting:
            let e = socket?.pendingError() ?? EIO
            if e == 0 { connected(now: now) } else { connectFailed(e, now: now) }
        case .tls:
            stepTLS(now: now)
        case .h2Settings, .pinging, .health, .holding:
            if revents & Int16(POLLOUT) != 0 { flush(now: now) }
            if revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 { readable(now: now) }
        case .done:
            break
        }
    }

    private func connected(now: Double) {
        if holdRound == 0 { result.connectMs = (now - connectStart) * 1000 }
        if let factory = config.tlsFactory {
            do {
                tls = try factory(socket!.fd, result.target.host)
                enter(.tls, deadline: now + config.phaseTimeout, now: now)
                stepTLS(now: now)
            } catch {
                fail(status: .error, mechanism: .none, errno: nil, summary: "tls: \(error)", now: now)
            }
            return
        }
        afterTransport(now: now)
    }

    private func stepTLS(now: Double) {
        guard let tls else { return }
        switch tls.handshakeStep() {
        case .wantRead: tlsWants = Int16(POLLIN)
        case .wantWrite: tlsWants = Int16(POLLOUT)
        case .failed(let why):
            fail(status: .error, mechanism: .none, errno: nil, summary: "tls: \(why)", now: now)
        case .done(let info):
            if holdRound == 0 {
                var fields = info.fields
                fields.insert(("handshake_ms", .double(((now - phaseStart) * 1e6).rounded() / 1e3)), at: 0)
                result.tls = fields
                result.tlsDaysLeft = info.daysLeft
                result.alpn = info.alpn
            }
            afterTransport(now: now)
        }
    }

    /// TCP (and TLS) are up: HTTP/2 if asked for or negotiated, else straight to the hold.
    private func afterTransport(now: Double) {
        let wantsH2 = config.h2 || config.grpcHealthService != nil || config.pings > 0 || result.alpn == "h2"
            || (holdRound == 1 && config.holdPing)
        if wantsH2 {
            if config.tlsFactory != nil && result.alpn != nil && result.alpn != "h2" {
                fail(status: .error, mechanism: .none, errno: nil, summary: "http/2: the server chose ALPN \(result.alpn!), not h2", now: now)
                return
            }
            do {
                let s = try HTTP2ClientSession(transport: tls.map { $0 as ByteTransport } ?? socket!.transport)
                s.onEvent = { [unowned self] e in self.sessionEvent(e) }
                session = s
                serverSettingsSeen = false
                enter(.h2Settings, deadline: now + config.phaseTimeout, now: now)
                wantWrite = true
                flush(now: now)
            } catch {
                fail(status: .error, mechanism: .none, errno: nil, summary: "http/2: \(error)", now: now)
            }
            return
        }
        startHoldOrFinish(now: now)
    }

    private func sessionEvent(_ e: HTTP2SessionEvent) {
        let now = clock.now()
        switch e {
        case .frame(.inbound, let frame):
            switch frame.payload {
            case .settings(false, let entries) where !serverSettingsSeen:
                serverSettingsSeen = true
                if holdRound == 0 {
                    result.h2SettingsMs = ((now - phaseStart) * 1e6).rounded() / 1e3
                    result.serverSettings = entries.map { ($0.identifier.name, .int(Int64($0.value))) }
                }
            case .ping(true, _):
                if let s = pingSentAt { if holdRound == 0 { result.pingRTTs.append(now - s) }; pingSentAt = nil }
            case .goAway(_, let code, let debug):
                if phase == .holding { goawayDuringHold = (code.name, String(decoding: debug.prefix(200), as: UTF8.self)) }
            default: break
            }
        default: break
        }
    }

    private func flush(now: Double) {
        guard let s = session else { return }
        switch s.flush() {
        case .flushed: wantWrite = false
        case .wouldBlock: wantWrite = true
        case .error(let e): ended(errno: e, now: now)
        case .transportFailed(let e): ended(by: e, now: now)
        case .sessionFailed(let err): fail(status: .error, mechanism: .none, errno: nil, summary: "http/2: \(err.message)", now: now)
        }
    }

    private func readable(now: Double) {
        if let s = session {
            while phase != .done {
                switch s.readFromSocket() {
                case .read: continue
                case .wouldBlock: break
                case .eof: ended(errno: nil, now: now); return
                case .error(let e): ended(errno: e, now: now); return
                case .transportFailed(let e): ended(by: e, now: now); return
                case .sessionFailed(let err):
                    fail(status: .error, mechanism: .none, errno: nil, summary: "http/2: \(err.message)", now: now); return
                }
                break
            }
            if phase != .done { advance(now: clock.now()) }
            if phase != .done { flush(now: now) }
            return
        }
        // Hold without HTTP/2: anything readable is data, EOF or an error.
        let transport: ByteTransport
        if let tls { transport = tls } else if let socket { transport = socket.transport } else { return }
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            switch buf.withUnsafeMutableBytes({ transport.read(into: $0) }) {
            case .bytes: continue
            case .wouldBlock: return
            case .eof: ended(errno: nil, now: now); return
            case .error(.socket(let e)): ended(errno: e.errno.rawValue, now: now); return
            case .error(let e): ended(by: e, now: now); return
            }
        }
    }

    /// Moves through SETTINGS -> PINGs -> health -> hold as each step completes.
    private func advance(now: Double) {
        guard let s = session else { return }
        if phase == .h2Settings && serverSettingsSeen {
            if holdRound == 1 { startHoldOrFinish(now: now); return }
            if config.pings > 0 { enter(.pinging, deadline: now + config.phaseTimeout, now: now); sendPing(now: now); return }
            startHealthOrHold(now: now)
            return
        }
        if phase == .pinging && pingSentAt == nil {
            if result.pingRTTs.count < config.pings { sendPing(now: now); deadline = now + config.phaseTimeout; return }
            startHealthOrHold(now: now)
            return
        }
        if phase == .health, let id = healthStream, let r = s.response(for: id), r.endStreamReceived || r.isClosed {
            let grpc = r.grpcStatus
            var status = "UNKNOWN"
            if grpc == .ok, let msg = decodedMessage() { status = GRPCHealth.parse(response: msg)?.rawValue ?? "UNKNOWN" }
            else if grpc == .notFound { status = GRPCHealth.Status.serviceUnknown.rawValue }
            else if let g = grpc { status = "grpc-status \(g.name)" }
            result.health = (config.grpcHealthService ?? "", status, grpc?.name)
            if status != "SERVING" {
                fail(status: .error, mechanism: .none, errno: nil,
                     summary: "grpc health \(config.grpcHealthService.map { $0.isEmpty ? "(server)" : $0 } ?? ""): \(status)", now: now)
                return
            }
            startHoldOrFinish(now: now)
        }
    }

    private func decodedMessage() -> [UInt8]? {
        var d = GRPCMessageDecoder()
        d.append(bytes: healthBytes)
        if case .message(let m)? = try? d.nextMessage() { return m.payload }
        return healthBytes.isEmpty ? [] : nil
    }

    private func sendPing(now: Double) {
        guard let s = session else { return }
        if (try? s.submitPing(opaque: UInt64(result.pingRTTs.count + 1))) != nil {
            pingSentAt = now
            wantWrite = true
            flush(now: now)
        }
    }

    private func startHealthOrHold(now: Double) {
        guard let service = config.grpcHealthService, let s = session else { startHoldOrFinish(now: now); return }
        s.onData = { [unowned self] id, bytes in if id == self.healthStream { self.healthBytes += bytes } }
        do {
            healthStream = try s.submitGRPCRequest(path: GRPCHealth.method, authority: result.target.host,
                                                   scheme: config.tlsFactory != nil ? "https" : "http",
                                                   message: GRPCHealth.request(service: service))
            enter(.health, deadline: now + config.phaseTimeout, now: now)
            wantWrite = true
            flush(now: now)
        } catch {
            fail(status: .error, mechanism: .none, errno: nil, summary: "grpc health: \(error)", now: now)
        }
    }

    private func startHoldOrFinish(now: Double) {
        guard let h = config.hold else { succeed(now: now); return }
        enter(.holding, deadline: now + h, now: now)
        holdEnds = now + h
        goawayDuringHold = nil
        if holdRound == 1 && config.holdPing && session != nil {
            nextHoldPing = now + max(0.2, h / 4)
            deadline = min(deadline, nextHoldPing)
        } else {
            nextHoldPing = .infinity
        }
    }

    func timedOut(now: Double) {
        switch phase {
        case .connecting:
            fail(status: .timeout, mechanism: .deadline, errno: nil,
                 summary: "no answer within the \(DurationText.format(config.connectTimeout)) connect timeout", now: now, predicted: connectStart + config.connectTimeout)
        case .tls: fail(status: .error, mechanism: .none, errno: nil, summary: "tls: no handshake within \(DurationText.format(config.phaseTimeout))", now: now)
        case .h2Settings: fail(status: .error, mechanism: .none, errno: nil, summary: "http/2: no SETTINGS from the server within \(DurationText.format(config.phaseTimeout)) (not an HTTP/2 server, or h2c not supported)", now: now)
        case .pinging: fail(status: .error, mechanism: .none, errno: nil, summary: "http/2: PING not answered within \(DurationText.format(config.phaseTimeout))", now: now)
        case .health: fail(status: .error, mechanism: .none, errno: nil, summary: "grpc health: no answer within \(DurationText.format(config.phaseTimeout))", now: now)
        case .holding:
            if now >= holdEnds { holdFinished(closedAt: nil, how: nil, now: now); return }
            if now >= nextHoldPing, let s = session {
                _ = try? s.submitPing(opaque: 0xC0DD1A6)
                wantWrite = true
                flush(now: now)
                nextHoldPing = now + max(0.2, (config.hold ?? 1) / 4)
            }
            deadline = min(holdEnds, nextHoldPing)
        case .done: break
        }
    }

    /// The connection ended (EOF when errno is nil).
    private func ended(errno e: Int32?, now: Double) {
        if phase == .holding {
            let how: ProbeHold.Close
            if let g = goawayDuringHold { how = .goaway(code: g.code, debug: g.debug, thenReset: e != nil) }
            else if e == nil { how = .fin }
            else if e == ECONNRESET { how = .rst }
            else { how = .error(ErrnoName.name(e!)) }
            holdFinished(closedAt: now, how: how, now: now)
            return
        }
        let what = e.map { "\(ErrnoName.message($0)) (\(ErrnoName.name($0)))" } ?? "the server closed the connection (FIN)"
        fail(status: .closed, mechanism: e == nil ? .peerFin : (e == ECONNRESET ? .peerRst : .none), errno: e.map { ErrnoName.name($0) },
             summary: "closed during \(phaseName): \(what)", now: now)
    }

    /// TLS ended the connection (an alert sent or received, another TLS failure): reported
    /// as TLS, never as the peer's reset.
    private func ended(by error: TransportError, now: Double) {
        if let e = error.errno { ended(errno: e, now: now); return }
        if phase == .holding {
            holdFinished(closedAt: now, how: .tls(error.description), now: now)
            return
        }
        fail(status: .error, mechanism: .none, errno: nil, summary: "closed during \(phaseName): \(error)", now: now)
    }

    private var phaseName: String {
        switch phase {
        case .connecting: return "connect"
        case .tls: return "the TLS handshake"
        case .h2Settings: return "the HTTP/2 SETTINGS exchange"
        case .pinging: return "PINGs"
        case .health: return "the health check"
        case .holding: return "the hold"
        case .done: return "done"
        }
    }

    private func holdFinished(closedAt: Double?, how: ProbeHold.Close?, now: Double) {
        var hold = ProbeHold(duration: config.hold ?? 0)
        if let c = closedAt, let how { hold.closed = ProbeHold.Closed(after: c - phaseStart, at: c, how: how) }
        if holdRound == 1 {
            hold.keepaliveTraffic = config.holdPing ? "http2-pings" : "tcp-keepalive"
            result.holdKeepalive = hold
            finishHolds(now: now)
            return
        }
        result.hold = hold
        if config.holdKeepalive || config.holdPing {
            // Repeat the hold on a fresh connection with keepalive traffic, to show whether it
            // keeps the connection alive through the idle timeout.
            closeTransport()
            holdRound = 1
            var o = config.options
            if !config.holdPing {
                let every = max(1, Int(((config.hold ?? 4) / 4).rounded(.down)))
                o.keepalive = true; o.keepIdle = every; o.keepIntvl = every; o.keepCnt = o.keepCnt ?? 3
            }
            connect(options: o)
            return
        }
        finishHolds(now: now)
    }

    private func finishHolds(now: Double) {
        if let closed = result.hold?.closed {
            var text = "the server closed the idle connection after \(DurationText.trimmed((closed.after * 1000).rounded() / 1000))s (\(closed.how.text))"
            if let k = result.holdKeepalive {
                text += k.survived ? "; with \(config.holdPing ? "HTTP/2 PINGs" : "TCP keepalive") the connection survived the hold" : "; keepalive traffic did not keep it open"
            }
            fail(status: .closed, mechanism: closed.how.mechanism, errno: nil, summary: text, now: now)
            return
        }
        succeed(now: now)
    }

    private func succeed(now: Double) {
        var parts = ["connected in \(DurationText.trimmed(result.connectMs ?? 0)) ms"]
        if let t = result.tls, case .string(let v)? = t.first(where: { $0.0 == "version" })?.1 { parts.append(v + (result.alpn.map { " alpn \($0)" } ?? "")) }
        if let s = result.h2SettingsMs { parts.append("h2 SETTINGS in \(DurationText.trimmed(s)) ms") }
        if !result.pingRTTs.isEmpty { parts.append("PING median \(DurationText.elapsed(result.pingRTTs.sorted()[result.pingRTTs.count / 2]))") }
        if let h = result.health { parts.append("health \(h.status)") }
        if result.holdSurvived == true { parts.append("survived the \(DurationText.format(config.hold ?? 0)) hold") }
        result.outcome = Outcome(status: .connected, mechanism: .none, detectedAt: now, summary: parts.joined(separator: ", "))
        close()
    }

    /// The probe has no capture: the connect failure is judged from its errno by the same
    /// diagnoser as syn-timeout's, against the kernel's SYN schedule.
    private func connectFailed(_ e: Int32, now: Double) {
        result.outcome = ConnectFailureDiagnoser.explain(errno: e, at: now, started: connectStart, firstSYN: connectStart,
                                                         schedule: engine.synSchedule(for: config.options), synTimes: nil, icmp: nil, rst: nil)
        close()
    }

    private func fail(status: OutcomeStatus, mechanism: Mechanism, errno: String?, summary: String, now: Double, predicted: Double? = nil) {
        result.outcome = Outcome(status: status, mechanism: mechanism, detectedAt: now, predictedAt: predicted, errno: errno, summary: summary)
        close()
    }

    func abort(now: Double, why: String) {
        fail(status: .error, mechanism: .none, errno: nil, summary: why, now: now)
    }

    private func closeTransport() {
        tls?.close()
        tls = nil
        session = nil
        socket?.close()
        socket = nil
    }

    private func close() {
        closeTransport()
        phase = .done
    }
}
