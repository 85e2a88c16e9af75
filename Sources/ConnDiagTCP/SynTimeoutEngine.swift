import Glibc
import ConnDiagCore
import ConnDiagPacket
import ConnDiagDiagnosis
import ConnDiagPlatform

/// What `syn-timeout` should do; the CLI fills it, tests build it directly.
public struct SynTimeoutConfig: Sendable {
    public var target: TargetSpec
    public var family: AddressFamilyChoice = .any
    public var options = SocketOptions()
    /// Application deadline for connect(), seconds.
    public var connectTimeout: Double?
    public var repeatCount = 1
    public var interface: String?
    public var writePcap: String?
    /// Run sockets and captures inside this network namespace (the lab).
    public var namespace: String?
    /// A name for the attempt in reports (lab scenarios).
    public var label: String?
    /// Turn off capture (socket-level events only), as when CAP_NET_RAW is missing.
    public var captureEnabled = true

    public init(target: TargetSpec) { self.target = target }
}

/// Connects to every address of a target (once or --repeat times) with a libpcap capture
/// beside the socket, and explains how each attempt ended against the kernel's SYN model.
public final class SynTimeoutEngine {
    public let config: SynTimeoutConfig
    public let timeline: Timeline
    private let captures = CaptureSet()

    public init(config: SynTimeoutConfig, timeline: Timeline = Timeline()) {
        self.config = config
        self.timeline = timeline
    }

    /// Runs every attempt and returns the report. Throws only for usage/environment errors
    /// found before the first connect (bad host, no namespace).
    public func run() throws -> Report {
        try NetworkNamespace.run(config.namespace) { try runInNamespace() }
    }

    private func runInNamespace() throws -> Report {
        let addresses = try Resolver.resolve(config.target.host, family: config.family)
        let kernel = KernelSettings.read()
        let plan = addresses.flatMap { a in (0..<max(1, config.repeatCount)).map { _ in a } }
        defer { captures.close() }
        if config.captureEnabled {
            try captures.open(addresses: addresses, port: config.target.port, interface: config.interface, writePcap: config.writePcap)
        }
        var attempts: [AttemptReport] = []
        var interrupted = false
        for (i, address) in plan.enumerated() {
            if InterruptSignal.shared.isRaised { interrupted = true; break }
            let first = timeline.events.count
            let remote = SocketAddress(ip: address, port: config.target.port)
            let result = attempt(index: i + 1, of: plan.count, remote: remote, kernel: kernel)
            let events = Array(timeline.events[first...])
            attempts.append(AttemptReport(index: i + 1, target: TargetInfo(host: config.target.host, address: address.description, port: Int(config.target.port)),
                                          label: config.label, settings: result.settings, events: events, outcome: result.outcome))
            if result.interrupted { interrupted = true; break }
        }
        let settings = attempts.first?.settings ?? []
        return Report(command: "syn-timeout",
                      target: attempts.first?.target ?? TargetInfo(host: config.target.host, address: addresses[0].description, port: Int(config.target.port)),
                      settings: settings, kernel: kernel, capture: captures.isActive, captureNote: captures.note,
                      attempts: attempts, outcome: Self.aggregate(attempts, interrupted: interrupted), interrupted: interrupted)
    }

    static func aggregate(_ attempts: [AttemptReport], interrupted: Bool) -> Outcome {
        guard let first = attempts.first else {
            return Outcome(status: .error, mechanism: .none, summary: interrupted ? "interrupted before the first attempt" : "no attempt ran")
        }
        if attempts.count == 1 { return first.outcome }
        let failed = attempts.filter { !$0.outcome.isHealthy }
        if failed.isEmpty {
            var o = attempts.last!.outcome
            o.summary = "all \(attempts.count) attempts connected"
            return o
        }
        var o = failed[0].outcome
        o.summary = "\(failed.count) of \(attempts.count) attempts failed; first: \(failed[0].target.display): \(o.summary)"
        return o
    }

    struct AttemptResult { var outcome: Outcome; var settings: [(String, JSONValue)]; var interrupted: Bool }

    private func attempt(index: Int, of total: Int, remote: SocketAddress, kernel: KernelSettings) -> AttemptResult {
        let clock = timeline.clock
        var tagged: [(String, JSONValue)] { total > 1 ? [("attempt", .int(Int64(index)))] : [] }
        func add(_ e: Event) { var e = e; e.fields = tagged + e.fields; timeline.append(e) }
        func fail(_ message: String, errno: String?) -> AttemptResult {
            add(Event(t: clock.now(), source: .socket, kind: .error, detail: message, fields: errno.map { [("errno", .string($0))] } ?? []))
            return AttemptResult(outcome: Outcome(status: .error, mechanism: .none, detectedAt: clock.now(), errno: errno, summary: message),
                                 settings: [], interrupted: false)
        }

        let connection: LiveConnection
        do {
            connection = try LiveConnection(remote: remote, options: config.options, captures: captures, timeline: timeline)
        } catch let e as SyscallError {
            return fail(e.description, errno: e.errnoName)
        } catch {
            return fail("\(error)", errno: nil)
        }
        defer { connection.socket.close() }
        connection.tag = tagged
        let effective = connection.effective

        let syncnt = effective.synRetries(kernel)
        let linear = kernel.tcpSynLinearTimeouts ?? 0
        let schedule = SYNSchedule(syncnt: syncnt, linearTimeouts: linear, rtoMax: kernel.rtoMax, hz: kernel.hz)
        var settings = effective.json(source: config.options.source != nil || config.options.sourcePort != nil ? connection.local : nil)
        settings.append(("syn_retries_effective", .int(Int64(syncnt))))
        settings.append(("connect_timeout_s", config.connectTimeout.map { .double($0) } ?? .null))
        if let i = config.interface { settings.append(("interface", .string(i))) }

        var synIndexTimes: [Double] = []
        connection.decorateWireEvent = { e in
            guard e.kind == .syn || e.kind == .synRetransmit else { return }
            synIndexTimes.append(e.t)
            let n = synIndexTimes.count - 1
            let base = synIndexTimes[0]
            if n < schedule.synTimes.count {
                // The kernel arms each retransmission timer when the previous one fires, so
                // the prediction for SYN n counts from SYN n-1 as observed; the whole
                // schedule from the first SYN is reported beside it.
                let scheduled = base + schedule.synTimes[n]
                let predicted = n == 0 ? e.t : synIndexTimes[n - 1] + (schedule.synTimes[n] - schedule.synTimes[n - 1])
                e.fields.append(("predicted_t", .double(round6(predicted))))
                e.fields.append(("deviation_ms", .double(((e.t - predicted) * 1e6).rounded() / 1e3)))
                e.fields.append(("schedule_t", .double(round6(scheduled))))
                if n > 0 { e.detail += "; at +\(DurationText.trimmed(e.t - base))s, predicted +\(DurationText.trimmed(predicted - base))s (\(DurationText.signedMilliseconds(e.t - predicted)))" }
            } else {
                e.fields.append(("predicted_t", .null))
                e.detail += " (not in the kernel model: \(schedule.synTimes.count) SYNs predicted)"
            }
        }

        let started = clock.now()
        var connectErrno = connection.startConnect()
        let tracker = { connection.tracker }
        add(Event(t: started, source: .app, kind: .connectStart, detail: "connect \(connection.local) -> \(remote); model: \(schedule.formula)",
                  fields: [("local", .string(connection.local.description)), ("remote", .string(remote.description))]))

        let deadline = config.connectTimeout.map { started + $0 }
        // Never wait past the kernel's own give-up by much: a safety net, not a mechanism.
        let safetyCap = started + schedule.giveUpAt * 1.2 + 10
        var finishedAt = started
        var deadlineHit = false
        var interrupted = false
        if connectErrno == nil {
            let (result, at) = connection.waitForConnect(started: started, deadline: deadline, safetyCap: safetyCap)
            finishedAt = at
            switch result {
            case .connected: connectErrno = 0
            case .failed(let e): connectErrno = e
            case .deadline, .safetyCap: deadlineHit = true
            case .interrupted: interrupted = true
            }
        }
        connection.sampleInfo(at: finishedAt)
        // The packets that explain the result (SYN-ACK and our ACK, RST, ICMP) are read before
        // the report; a deadline or an interrupt has none to wait for.
        let explanation: WireExplanation = deadlineHit || interrupted ? .nothing : .connect(errno: connectErrno ?? 0)
        connection.drainCaptures(until: explanation)

        let t = finishedAt
        let firstSYN = synIndexTimes.first ?? started
        var outcome: Outcome
        let haveCapture = captures.isActive
        let synsSent = haveCapture ? "\(tracker().synCount) SYN\(tracker().synCount == 1 ? "" : "s") sent" : "capture off"
        let wire = connection.wire
        let icmp = wire.filter { ($0.icmp?.isUnreachable ?? false) && $0.t >= started }.max { $0.t < $1.t }
        let rst = wire.filter { $0.kind == .rst && $0.direction == .in && $0.t >= started }.max { $0.t < $1.t }

        if interrupted {
            add(Event(t: t, source: .app, kind: .error, detail: "interrupted"))
            outcome = Outcome(status: .error, mechanism: .none, detectedAt: nil, predictedAt: firstSYN + schedule.giveUpAt,
                              summary: "interrupted after \(DurationText.format(t - started)) (\(synsSent))")
        } else if deadlineHit {
            add(Event(t: t, source: .app, kind: .deadline, detail: "connect deadline of \(DurationText.format(config.connectTimeout ?? (t - started))) elapsed; closing the socket"))
            let kernelWouldAt = firstSYN + schedule.giveUpAt
            outcome = Outcome(status: .timeout, mechanism: .deadline, detectedAt: t, predictedAt: deadline ?? t,
                              summary: "no answer; the application deadline fired first at \(DurationText.trimmed(t - started))s (\(synsSent))",
                              explanation: "the kernel alone would give up at t=\(DurationText.trimmed(kernelWouldAt))s: \(schedule.formula)",
                              extra: [("kernel_give_up_at", .double(round6(kernelWouldAt)))])
        } else if connectErrno == 0 && connection.local == remote {
            // TCP simultaneous open with itself: --source equal to the target on this host.
            add(Event(t: t, source: .socket, kind: .error, detail: "the socket connected to itself (source \(connection.local) = target)"))
            outcome = Outcome(status: .error, mechanism: .none, detectedAt: t,
                              summary: "connected to itself: the source address and port equal the target, so no peer was tested")
        } else if connectErrno == 0 {
            add(Event(t: t, source: .socket, kind: .connected, detail: "connect() succeeded"))
            var extra: [(String, JSONValue)] = [("connect_ms", .double(((t - started) * 1e6).rounded() / 1e3))]
            var rttText = ""
            if let sa = tracker().synAckAt, let last = tracker().lastSYNAt {
                extra.append(("handshake_rtt_ms", .double(((sa - last) * 1e6).rounded() / 1e3)))
                rttText = ", handshake RTT \(DurationText.trimmed((sa - last) * 1000)) ms"
            }
            let retries = max(0, tracker().synCount - 1)
            let retryText = retries > 0 ? " after \(retries) SYN retransmission\(retries == 1 ? "" : "s")" : ""
            outcome = Outcome(status: .connected, mechanism: .none, detectedAt: t, predictedAt: nil,
                              summary: "connected in \(DurationText.trimmed((t - started) * 1000)) ms\(retryText)\(rttText)", extra: extra)
        } else {
            let e = connectErrno!
            let name = ErrnoName.name(e)
            add(Event(t: t, source: .socket, kind: .error, detail: "connect() failed: \(ErrnoName.message(e)) (\(name))", fields: [("errno", .string(name))]))
            outcome = ConnectFailureDiagnoser.explain(errno: e, at: t, started: started, firstSYN: firstSYN, schedule: schedule,
                                                      synTimes: haveCapture ? synIndexTimes : nil, icmp: icmp, rst: rst)
        }
        return AttemptResult(outcome: outcome, settings: settings, interrupted: interrupted)
    }
}
