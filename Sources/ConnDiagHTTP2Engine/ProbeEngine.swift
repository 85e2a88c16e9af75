import Glibc
import ConnDiagCore
import ConnDiagHTTP2
import ConnDiagPacket
import ConnDiagTCP
import ConnDiagPlatform

/// A TLS session the probe drives without knowing the library (ConnDiagTLS adapts to it).
public protocol ProbeTLSSession: ByteTransport {
    func handshakeStep() -> ProbeTLSStep
    func close()
}

public struct ProbeTLSInfo: Sendable {
    public var fields: [(String, JSONValue)]
    public var alpn: String?
    public var daysLeft: Double?
    public init(fields: [(String, JSONValue)], alpn: String?, daysLeft: Double?) { self.fields = fields; self.alpn = alpn; self.daysLeft = daysLeft }
}

public enum ProbeTLSStep { case done(ProbeTLSInfo), wantRead, wantWrite, failed(String) }

public typealias ProbeTLSFactory = (_ fd: Int32, _ serverName: String) throws -> ProbeTLSSession

public struct ProbeConfig {
    public var targets: [TargetSpec]
    public var family: AddressFamilyChoice = .any
    public var options = SocketOptions()
    public var connectTimeout = 5.0
    public var concurrency = 64
    public var tlsFactory: ProbeTLSFactory?
    public var h2 = false
    public var grpcHealthService: String?
    public var pings = 0
    public var hold: Double?
    public var holdKeepalive = false
    public var holdPing = false
    /// Deadline for each of TLS, the HTTP/2 SETTINGS exchange, each PING and the health check.
    public var phaseTimeout = 5.0
    public var namespace: String?
    public var expectations: [ProbeExpectation] = []
    public init(targets: [TargetSpec]) { self.targets = targets }
}

/// Checks many endpoints at once on one reactor (no thread per target), each through the
/// phases it asks for: DNS, TCP connect, TLS, HTTP/2 SETTINGS and PINGs, gRPC health,
/// then an idle hold that finds load-balancer and NAT idle timeouts.
public final class ProbeEngine {
    public let config: ProbeConfig
    public let clock: RunClock
    /// Called as each target finishes (NDJSON streams these).
    public var onResult: ((ProbeResult) -> Void)?
    public private(set) var results: [ProbeResult] = []
    public private(set) var interrupted = false
    public private(set) var peakActive = 0

    public init(config: ProbeConfig, clock: RunClock = RunClock()) {
        self.config = config
        self.clock = clock
    }

    /// The kernel's settings in the probe's namespace, read once per run.
    private(set) var kernel = KernelSettings()

    /// The SYN schedule a probe's connect follows (TCP_SYNCNT or tcp_syn_retries).
    func synSchedule(for options: SocketOptions) -> SYNSchedule {
        SYNSchedule(syncnt: options.synCnt ?? kernel.tcpSynRetries, linearTimeouts: kernel.tcpSynLinearTimeouts ?? 0,
                    rtoMax: kernel.rtoMax, hz: kernel.hz)
    }

    public func run() throws -> Report {
        try NetworkNamespace.run(config.namespace) { runInNamespace() }
    }

    private func runInNamespace() -> Report {
        kernel = KernelSettings.read()
        var queue: [(TargetSpec, IPAddress?, [String], Double?, String?)] = []
        var resolved: [String: (addresses: [IPAddress], ms: Double, error: String?)] = [:]
        // Names are resolved on this thread, inside the namespace, one after the other: a
        // lab run must never send a DNS query out of the lab.
        for t in config.targets {
            if resolved[t.host] == nil {
                let start = clock.now()
                do {
                    let a = try Resolver.resolve(t.host, family: config.family)
                    resolved[t.host] = (a, (clock.now() - start) * 1000, nil)
                } catch {
                    resolved[t.host] = ([], (clock.now() - start) * 1000, (error as? ConnDiagError)?.message ?? "\(error)")
                }
            }
            let r = resolved[t.host]!
            let literal = IPAddress(t.host) != nil
            if r.addresses.isEmpty {
                queue.append((t, nil, [], literal ? nil : r.ms, r.error))
            } else {
                for a in r.addresses { queue.append((t, a, r.addresses.map(\.description), literal ? nil : r.ms, nil)) }
            }
        }
        var next = 0
        var active: [TargetProbe] = []
        let reactor = Reactor(clock: clock)
        // Each probe's socket as registered; a probe that reconnects (the keepalive hold)
        // has a new descriptor.
        var watched: [ObjectIdentifier: (fd: Int32, registration: Reactor.Registration)] = [:]
        func watch(_ p: TargetProbe) {
            let key = ObjectIdentifier(p)
            let interest = Reactor.Interest(rawValue: p.pollEvents)
            if let w = watched[key], w.fd == p.fd { reactor.setInterest(interest, for: w.registration); return }
            if let w = watched[key] { reactor.deregister(w.registration) }
            let registration = reactor.register(fd: p.fd, interest: interest) { [unowned p, clock] readiness in
                p.handle(readiness.rawValue, now: clock.now())
            }
            watched[key] = (p.fd, registration)
        }
        func unwatch(_ p: TargetProbe) {
            if let w = watched.removeValue(forKey: ObjectIdentifier(p)) { reactor.deregister(w.registration) }
        }
        while next < queue.count || !active.isEmpty {
            if InterruptSignal.shared.isRaised { interrupted = true; break }
            while active.count < config.concurrency && next < queue.count {
                let (spec, address, all, dnsMs, dnsError) = queue[next]
                next += 1
                let target = TargetInfo(host: spec.host, address: address?.description ?? "", port: Int(spec.port))
                guard let address else {
                    var r = ProbeResult(target: target, outcome: Outcome(status: .error, mechanism: .none, detectedAt: clock.now(), errno: nil,
                                                                        summary: "dns: \(dnsError ?? "no address")"))
                    r.dnsMs = dnsMs
                    r.dnsError = dnsError
                    r.order = next - 1
                    finish(r)
                    continue
                }
                let p = TargetProbe(engine: self, target: target, remote: SocketAddress(ip: address, port: spec.port), dnsAddresses: all, dnsMs: dnsMs)
                p.result.order = next - 1
                p.start()
                if p.isDone { finish(p.result) } else { active.append(p) }
            }
            peakActive = max(peakActive, active.count)
            if active.isEmpty { continue }
            let now = clock.now()
            var wake = now + 1
            for p in active {
                watch(p)
                wake = min(wake, p.deadline)
            }
            if !reactor.runOnce(timeout: wake - now) { interrupted = true; break }
            let after = clock.now()
            var still: [TargetProbe] = []
            still.reserveCapacity(active.count)
            for p in active {
                if !p.isDone && after >= p.deadline { p.timedOut(now: after) }
                if p.isDone { unwatch(p); finish(p.result) } else { still.append(p) }
            }
            active = still
        }
        for p in active {
            unwatch(p)
            p.abort(now: clock.now(), why: "interrupted")
            finish(p.result)
        }
        while next < queue.count {
            let (spec, address, _, _, _) = queue[next]; next += 1
            var r = ProbeResult(target: TargetInfo(host: spec.host, address: address?.description ?? "", port: Int(spec.port)),
                                outcome: Outcome(status: .error, mechanism: .none, summary: "not probed: interrupted"))
            r.order = next - 1
            finish(r)
        }
        return report(kernel: kernel)
    }

    private func finish(_ r: ProbeResult) {
        var r = r
        r.finishedAt = clock.now()
        r.check(config.expectations)
        results.append(r)
        onResult?(r)
    }

    private func report(kernel: KernelSettings) -> Report {
        results.sort { $0.order < $1.order }
        let healthy = results.filter(\.healthy).count
        let slowest = results.filter { $0.connectMs != nil }.max { $0.connectMs! < $1.connectMs! }
        var summary = "\(results.count) target\(results.count == 1 ? "" : "s"), \(healthy) healthy, \(results.count - healthy) failed"
        if let s = slowest { summary += ", slowest \(s.target.display) \(DurationText.trimmed(s.connectMs!)) ms" }
        let outcome = Outcome(status: healthy == results.count && !interrupted ? .connected : .error, mechanism: .none,
                              summary: summary, extra: [("targets_total", .int(Int64(results.count))), ("targets_healthy", .int(Int64(healthy)))])
        var settings = EffectiveSocketOptions().json(source: nil).filter { _ in false }
        settings += [("connect_timeout_s", .double(config.connectTimeout)), ("concurrency", .int(Int64(config.concurrency))),
                     ("tls", .bool(config.tlsFactory != nil)), ("h2", .bool(config.h2)), ("pings", .int(Int64(config.pings))),
                     ("grpc_health", config.grpcHealthService.map { .string($0) } ?? .null), ("hold_s", config.hold.map { .double($0) } ?? .null)]
        if let k = config.options.keepalive { settings.append(("keepalive", .bool(k))) }
        if let u = config.options.userTimeoutMs { settings.append(("user_timeout_ms", .int(Int64(u)))) }
        return Report(command: "probe", target: nil, settings: settings, kernel: kernel, capture: false,
                      captureNote: nil, attempts: [], outcome: outcome, interrupted: interrupted,
                      extras: [("targets", .array(results.map(\.json))), ("peak_concurrency", .int(Int64(peakActive)))])
    }
}
