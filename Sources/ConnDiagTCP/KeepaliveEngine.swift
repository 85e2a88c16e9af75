import Glibc
import ConnDiagCore
import ConnDiagPacket
import ConnDiagPlatform

/// What the client does on the connection while conndiag watches it.
public enum TrafficMode: String, Sendable, CaseIterable {
    /// Nothing after the handshake: TCP keepalive's case.
    case idle
    /// Write `writeSize` bytes every `writeInterval`: with unacknowledged data keepalive
    /// stops applying and TCP_USER_TIMEOUT or tcp_retries2 decides.
    case send
    /// An HTTP/2 connection with gRPC-style PING keepalive (proposal A8).
    case h2
}

/// Something to do at a moment after the connection is established (lab faults).
public struct ScheduledAction {
    public var after: Double
    public var label: String
    /// The action makes the peer go silent (a cut of the flow), so an idle connection's
    /// survival is only pending until keepalive would notice.
    public var silencesFlow: Bool
    public var run: () throws -> Void
    public init(after: Double, label: String, silencesFlow: Bool = false, run: @escaping () throws -> Void) {
        self.after = after; self.label = label; self.silencesFlow = silencesFlow; self.run = run
    }
}

public struct KeepaliveConfig {
    public var target: TargetSpec
    public var family: AddressFamilyChoice = .any
    public var options = SocketOptions()
    public var connectTimeout: Double? = 10
    public var traffic: TrafficMode = .idle
    public var writeSize = 64
    public var writeInterval = 1.0
    /// Stop watching after this long (seconds after the connection is established).
    public var duration: Double?
    public var namespace: String?
    public var interface: String?
    public var writePcap: String?
    public var captureEnabled = true
    public var actions: [ScheduledAction] = []
    /// The HTTP/2 side, for `.h2` (set by the HTTP/2 layer).
    public var h2Driver: H2KeepaliveDriver?
    public init(target: TargetSpec) { self.target = target }
}

/// The HTTP/2 layer plugs in here, so this module needs no nghttp2: it is handed the
/// connected socket and told when the socket is readable/writable and when time passes.
public protocol H2KeepaliveDriver: AnyObject {
    /// Called once the TCP connection is up; writes the preface and opens streams.
    func start(fd: Int32, timeline: Timeline, established: Double) throws
    /// Events to poll the socket for.
    var pollEvents: Int16 { get }
    /// The socket is readable: read and process. Returns an end of the connection if one
    /// was seen (EOF, reset, an error).
    func onReadable(now: Double) -> H2DriverEnd?
    /// Time passed: send due requests, PINGs; detect a PING timeout.
    func onTick(now: Double) -> H2DriverEnd?
    func flush(now: Double) -> H2DriverEnd?
    /// The next moment the driver needs a tick.
    func nextDeadline(now: Double) -> Double?
    /// Settings to report (ping_time_s, streams, ...).
    var settings: [(String, JSONValue)] { get }
    /// Extra report sections (streams, PINGs).
    func reportExtras() -> [(String, JSONValue)]
    /// Time of the last byte read from the peer (A8's PING timer base).
    var lastReadAt: Double { get }
    var pingsSent: Int { get }
    /// The PING schedule in force (ping time, timeout), if PING keepalive is on.
    var pingPolicy: (time: Double, timeout: Double)? { get }
}

public enum H2DriverEnd {
    case eof
    case error(Int32)
    case pingTimeout(sentAt: Double)
    case protocolError(String)
}

/// Establishes a connection, then watches it until the kernel, the HTTP/2 layer or the
/// peer ends it, `duration` passes, or the user interrupts; then explains which mechanism
/// noticed, against the kernel model.
public final class KeepaliveEngine {
    public let config: KeepaliveConfig
    public let timeline: Timeline
    private let captures = CaptureSet()

    public init(config: KeepaliveConfig, timeline: Timeline = Timeline()) {
        self.config = config
        self.timeline = timeline
    }

    public func run() throws -> Report {
        try NetworkNamespace.run(config.namespace) { try runInNamespace() }
    }

    private func runInNamespace() throws -> Report {
        let addresses = try Resolver.resolve(config.target.host, family: config.family)
        let address = addresses[0]
        let kernel = KernelSettings.read()
        defer { captures.close() }
        if config.captureEnabled {
            try captures.open(addresses: [address], port: config.target.port, interface: config.interface, writePcap: config.writePcap)
        }
        let remote = SocketAddress(ip: address, port: config.target.port)
        let target = TargetInfo(host: config.target.host, address: address.description, port: Int(config.target.port))
        var watch = Watch(engine: self, kernel: kernel, remote: remote)
        let outcome = watch.run()
        var settings = watch.settings
        settings.append(("traffic", .string(config.traffic.rawValue)))
        if config.traffic == .send {
            settings.append(("write_size", .int(Int64(config.writeSize))))
            settings.append(("write_interval_s", .double(config.writeInterval)))
        }
        settings.append(("for_s", config.duration.map { .double($0) } ?? .null))
        if let h2 = config.h2Driver { settings.append(contentsOf: h2.settings) }
        let attempt = AttemptReport(index: 1, target: target, events: timeline.events, elision: timeline.elision, outcome: outcome)
        var extras: [(String, JSONValue)] = [("predictions", .object(watch.predictionsJSON))]
        if let h2 = config.h2Driver { extras.append(contentsOf: h2.reportExtras()) }
        return Report(command: "keepalive-test", target: target, settings: settings, kernel: kernel,
                      capture: captures.isActive, captureNote: captures.note, attempts: [attempt],
                      outcome: outcome, interrupted: watch.interrupted, extras: extras)
    }

    /// The state of one watched connection.
    struct Watch {
        let engine: KeepaliveEngine
        let kernel: KernelSettings
        let remote: SocketAddress
        var settings: [(String, JSONValue)] = []
        var interrupted = false
        var predictionsJSON: [(String, JSONValue)] = []
        var config: KeepaliveConfig { engine.config }
        var timeline: Timeline { engine.timeline }

        init(engine: KeepaliveEngine, kernel: KernelSettings, remote: SocketAddress) {
            self.engine = engine; self.kernel = kernel; self.remote = remote
        }

        func add(_ e: Event) { timeline.append(e) }

        mutating func run() -> Outcome {
            let clock = timeline.clock
            let connection: LiveConnection
            do {
                connection = try LiveConnection(remote: remote, options: config.options, captures: engine.captures, timeline: timeline)
            } catch {
                return Outcome(status: .error, mechanism: .none, detectedAt: clock.now(),
                               errno: (error as? SyscallError)?.errnoName, summary: "\(error)")
            }
            defer { connection.socket.close() }
            settings = connection.effective.json(source: nil)

            // Connect.
            let started = clock.now()
            var immediate = connection.startConnect()
            add(Event(t: started, source: .app, kind: .connectStart, detail: "connect \(connection.local) -> \(remote)",
                      fields: [("local", .string(connection.local.description)), ("remote", .string(remote.description))]))
            if immediate == nil {
                let (result, at) = connection.waitForConnect(started: started, deadline: config.connectTimeout.map { started + $0 }, safetyCap: started + 300)
                switch result {
                case .connected: immediate = 0
                case .failed(let e): immediate = e
                case .interrupted:
                    interrupted = true
                    return Outcome(status: .error, mechanism: .none, summary: "interrupted while connecting")
                case .deadline, .safetyCap:
                    add(Event(t: at, source: .app, kind: .deadline, detail: "connect deadline elapsed"))
                    return Outcome(status: .timeout, mechanism: .deadline, detectedAt: at, predictedAt: at,
                                   summary: "could not connect within \(DurationText.format(at - started)); nothing to watch")
                }
            }
            if immediate != 0 {
                let e = immediate!
                connection.drainCaptures(until: .connect(errno: e), atMost: 0.1)
                add(Event(t: clock.now(), source: .socket, kind: .error, detail: "connect() failed: \(ErrnoName.message(e)) (\(ErrnoName.name(e)))",
                          fields: [("errno", .string(ErrnoName.name(e)))]))
                return Outcome(status: e == ECONNREFUSED ? .refused : .error, mechanism: e == ECONNREFUSED ? .rst : .none,
                               detectedAt: clock.now(), errno: ErrnoName.name(e),
                               summary: "could not connect: \(ErrnoName.message(e)) (\(ErrnoName.name(e)))")
            }
            let established = clock.now()
            connection.drainCaptures(until: .handshake, atMost: 0.02)
            add(Event(t: established, source: .socket, kind: .connected, detail: "connected; watching (\(config.traffic.rawValue))"))
            connection.sampleInfo(at: established, force: true)
            return watch(connection, established: established)
        }

        /// The packets that explain how the watch ended (none when it ran its course, was
        /// interrupted, or HTTP/2 itself gave up on an open connection).
        static func explanation(of ended: (at: Double, errno: Int32?, eof: Bool, h2: H2DriverEnd?)?) -> WireExplanation {
            guard let ended else { return .nothing }
            switch ended.h2 {
            case nil: return .end(errno: ended.errno, eof: ended.eof)
            case .eof?: return .peerFIN
            case .error(let e)?: return .end(errno: e, eof: false)
            case .pingTimeout?, .protocolError?: return .nothing
            }
        }

        mutating func watch(_ c: LiveConnection, established: Double) -> Outcome {
            let clock = timeline.clock
            let h2 = config.traffic == .h2 ? config.h2Driver : nil
            if let h2 {
                do { try h2.start(fd: c.socket.fd, timeline: timeline, established: established) } catch {
                    return Outcome(status: .error, mechanism: .none, detectedAt: clock.now(), summary: "HTTP/2 start failed: \(error)")
                }
            }
            var actions = config.actions.sorted { $0.after < $1.after }
            let end = config.duration.map { established + $0 }
            var nextWrite = established + (config.traffic == .send ? config.writeInterval : .infinity)
            var nextSample = established
            var buffer = [UInt8](repeating: 0, count: 65536)
            let payload = [UInt8](repeating: 0x61, count: max(1, config.writeSize))
            var ended: (at: Double, errno: Int32?, eof: Bool, h2: H2DriverEnd?)?
            var firstRetransmitSampleAt: Double?
            let socket = c.reactor.register(fd: c.socket.fd, interest: .readable) { readiness in
                let re = readiness.rawValue
                if let h2 {
                    if re & Int16(POLLIN | POLLERR | POLLHUP) != 0, let r = h2.onReadable(now: clock.now()) {
                        ended = (clock.now(), nil, false, r); return
                    }
                    if re & Int16(POLLOUT) != 0, let r = h2.flush(now: clock.now()) { ended = (clock.now(), nil, false, r) }
                    return
                }
                if re & Int16(POLLERR) != 0 {
                    ended = (clock.now(), c.socket.pendingError(), false, nil); return
                }
                if re & Int16(POLLIN | POLLHUP) != 0 {
                    // Drain what the echo peer sent back; an error or EOF ends the watch.
                    while true {
                        do {
                            let r = try buffer.withUnsafeMutableBytes { try c.socket.receive(into: $0) }
                            if case .bytes = r { continue }
                            if case .eof = r { ended = (clock.now(), nil, true, nil); return }
                            return
                        } catch let e as SyscallError {
                            ended = (clock.now(), e.errno.rawValue, false, nil); return
                        } catch { return }
                    }
                }
            }
            defer { c.reactor.deregister(socket) }

            loop: while true {
                let now = clock.now()
                if let e = end, now >= e { break }
                while let a = actions.first, now >= established + a.after {
                    actions.removeFirst()
                    do {
                        try a.run()
                        add(Event(t: clock.now(), source: .app, kind: "fault", detail: a.label))
                    } catch {
                        add(Event(t: clock.now(), source: .app, kind: .error, detail: "\(a.label) failed: \(error)"))
                    }
                }
                if now >= nextWrite {
                    let n = payload.withUnsafeBytes { (try? c.socket.send($0)) ?? -1 }
                    if n >= 0 {
                        add(Event(t: clock.now(), source: .app, kind: "write", detail: "write \(n) bytes" + (n < payload.count ? " (send buffer full)" : ""),
                                  fields: [("len", .int(Int64(n)))]))
                    }
                    nextWrite += config.writeInterval
                }
                if now >= nextSample {
                    if let info = c.sampleInfo(at: now), info.retransmits > 0, firstRetransmitSampleAt == nil { firstRetransmitSampleAt = now }
                    // Fine-grained while data is unacknowledged: the RTO timers are short.
                    nextSample = now + ((c.lastInfoSample?.unacked ?? 0) > 0 ? 0.02 : 0.1)
                }
                if let h2, let r = h2.onTick(now: now) { ended = (clock.now(), nil, false, r); break loop }
                if let h2, let r = h2.flush(now: now) { ended = (clock.now(), nil, false, r); break loop }

                var wake = min(nextWrite, nextSample)
                if let e = end { wake = min(wake, e) }
                if let a = actions.first { wake = min(wake, established + a.after) }
                if let h2, let d = h2.nextDeadline(now: now) { wake = min(wake, d) }
                c.reactor.setInterest(Reactor.Interest(rawValue: h2?.pollEvents ?? Int16(POLLIN)), for: socket)
                // Captures are pumped and the interrupt judged before the socket's handler.
                if !c.reactor.runOnce(timeout: min(1, wake - clock.now())) { interrupted = true; break }
                if ended != nil { break }
            }
            let stopAt = clock.now()
            c.sampleInfo(at: stopAt)
            c.drainCaptures(until: Self.explanation(of: ended))
            return explain(c, established: established, ended: ended, stopAt: stopAt, firstRetransmitSampleAt: firstRetransmitSampleAt)
        }
    }
}
