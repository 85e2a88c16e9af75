import Glibc
import ConnDiagCore
import ConnDiagPacket

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
    public private(set) var captureNote: String?
    private var captures: [String: PacketCapture] = [:]

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
        defer { captures.values.forEach { $0.close() } }
        if config.captureEnabled { openCaptures(for: addresses) }
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
                      settings: settings, kernel: kernel, capture: !captures.isEmpty, captureNote: captureNote,
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

    private func openCaptures(for addresses: [IPAddress]) {
        var byInterface: [String: [IPAddress]] = [:]
        for a in addresses {
            let name = config.interface ?? RouteLookup.interface(for: a) ?? "any"
            byInterface[name, default: []].append(a)
        }
        for (name, addrs) in byInterface.sorted(by: { $0.key < $1.key }) {
            let hosts = addrs.map { "host \($0)" }.joined(separator: " or ")
            let filter = "(tcp and port \(config.target.port) and (\(hosts))) or (icmp and (icmp[0] == 3 or icmp[0] == 4 or icmp[0] == 11 or icmp[0] == 12)) or (icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3 or ip6[40] == 4))"
            do {
                let c = try PacketCapture.openLive(interface: name, filter: filter)
                if let path = config.writePcap, captures.isEmpty { try c.startWriting(to: path) }
                captures[name] = c
            } catch let e as CaptureError {
                captureNote = e.description + "; socket-level events only"
                captures.values.forEach { $0.close() }
                captures = [:]
                return
            } catch {
                captureNote = "\(error); socket-level events only"
                captures.values.forEach { $0.close() }
                captures = [:]
                return
            }
        }
    }

    struct AttemptResult { var outcome: Outcome; var settings: [(String, JSONValue)]; var interrupted: Bool }

    // swiftlint:disable:next function_body_length
    private func attempt(index: Int, of total: Int, remote: SocketAddress, kernel: KernelSettings) -> AttemptResult {
        let clock = timeline.clock
        var tagged: [(String, JSONValue)] { total > 1 ? [("attempt", .int(Int64(index)))] : [] }
        func add(_ e: Event) { var e = e; e.fields = tagged + e.fields; timeline.append(e) }
        func fail(_ message: String, errno: String?) -> AttemptResult {
            add(Event(t: clock.now(), source: .socket, kind: .error, detail: message, fields: errno.map { [("errno", .string($0))] } ?? []))
            return AttemptResult(outcome: Outcome(status: .error, mechanism: .none, detectedAt: clock.now(), errno: errno, summary: message),
                                 settings: [], interrupted: false)
        }

        // Socket with the user's options, bound so the capture filter knows our port.
        let socket: TCPSocket
        let local: SocketAddress
        let effective: EffectiveSocketOptions
        do {
            socket = try TCPSocket(family: remote.family)
            try socket.apply(config.options)
            let anyAddress: IPAddress = remote.ip.isIPv6 ? .v6(0, 0) : .v4(0)
            try socket.bind(SocketAddress(ip: config.options.source ?? anyAddress, port: config.options.sourcePort ?? 0))
            local = try socket.localAddress()
            effective = try socket.effectiveOptions()
        } catch let e as SyscallError {
            return fail(e.description, errno: e.errnoName)
        } catch {
            return fail("\(error)", errno: nil)
        }
        defer { socket.close() }

        let syncnt = effective.synRetries(kernel)
        let linear = kernel.tcpSynLinearTimeouts ?? 0
        let schedule = SYNSchedule(syncnt: syncnt, linearTimeouts: linear, rtoMax: kernel.rtoMax, hz: kernel.hz)
        var settings = effective.json(source: config.options.source != nil || config.options.sourcePort != nil ? local : nil)
        settings.append(("syn_retries_effective", .int(Int64(syncnt))))
        settings.append(("connect_timeout_s", config.connectTimeout.map { .double($0) } ?? .null))
        if let i = config.interface { settings.append(("interface", .string(i))) }

        // Bound to the wildcard address until connect() picks the source; the tracker is made
        // once the kernel has chosen it.
        var tracker = FlowTracker(local: local, remote: remote)
        var synIndexTimes: [Double] = []
        var lastInfo: TCPInfo?
        func sampleInfo(_ t: Double) {
            guard let info = socket.tcpInfo() else { return }
            if let l = lastInfo, !info.differsMeaningfully(from: l) { return }
            lastInfo = info
            add(Event(t: t, source: .socket, kind: .tcpInfo, detail: info.summary, fields: info.fields))
        }
        func pumpCaptures() {
            for c in captures.values {
                c.read { packet in
                    let decoded = PacketDecoder.decode(packet.bytes, linkType: c.linkType, wireLength: packet.originalLength)
                    let t = clock.fromRealtime(nanos: packet.timestampNanos)
                    guard var e = tracker.observe(decoded, at: t) else { return }
                    if e.kind == .syn || e.kind == .synRetransmit {
                        synIndexTimes.append(t)
                        let n = synIndexTimes.count - 1
                        let base = synIndexTimes[0]
                        if n < schedule.synTimes.count {
                            let predicted = base + schedule.synTimes[n]
                            e.fields.append(("predicted_t", .double(round6(predicted))))
                            e.fields.append(("deviation_ms", .double(((t - predicted) * 1e6).rounded() / 1e3)))
                            if n > 0 { e.detail += "; at +\(DurationText.trimmed(t - base))s, predicted +\(DurationText.trimmed(schedule.synTimes[n]))s (\(signedMs(t - predicted)))" }
                        } else {
                            e.fields.append(("predicted_t", .null))
                            e.detail += " (not in the kernel model: \(schedule.synTimes.count) SYNs predicted)"
                        }
                    }
                    add(e)
                }
            }
        }

        let started = clock.now()
        var connectErrno: Int32? = nil
        do {
            if try socket.startConnect(to: remote) { connectErrno = 0 }
        } catch let e as SyscallError {
            connectErrno = e.errno.rawValue
        } catch { connectErrno = EIO }
        let chosen = (try? socket.localAddress()) ?? local
        tracker = FlowTracker(local: chosen, remote: remote)
        add(Event(t: started, source: .app, kind: .connectStart, detail: "connect \(chosen) -> \(remote); model: \(schedule.formula)",
                  fields: [("local", .string(chosen.description)), ("remote", .string(remote.description))]))

        let deadline = config.connectTimeout.map { started + $0 }
        // Never wait past the kernel's own give-up by much: a safety net, not a mechanism.
        let safetyCap = started + schedule.giveUpAt * 1.2 + 10
        var finishedAt: Double?
        var deadlineHit = false
        var interrupted = false
        var nextSample = started
        while connectErrno == nil {
            let now = clock.now()
            if let d = deadline, now >= d { deadlineHit = true; finishedAt = d; break }
            if now >= safetyCap { deadlineHit = true; finishedAt = now; break }
            if now >= nextSample { sampleInfo(now); nextSample = now + 0.1 }
            var fds = [pollfd(fd: socket.fd, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: InterruptSignal.shared.readFD, events: Int16(POLLIN), revents: 0)]
            for c in captures.values { fds.append(pollfd(fd: c.selectableFD, events: Int16(POLLIN), revents: 0)) }
            var waitMs = Int32(100)
            if let d = deadline { waitMs = min(waitMs, Int32(max(0, (d - now) * 1000).rounded(.up))) }
            let rc = poll(&fds, nfds_t(fds.count), waitMs)
            if rc < 0 && errno != EINTR { break }
            pumpCaptures()
            if fds[0].revents != 0 {
                connectErrno = socket.pendingError()
                finishedAt = clock.now()
                if connectErrno == 0 && fds[0].revents & Int16(POLLOUT) == 0 { connectErrno = EIO }
            }
            if InterruptSignal.shared.isRaised { interrupted = true; finishedAt = clock.now(); break }
        }
        if finishedAt == nil { finishedAt = clock.now() }
        sampleInfo(finishedAt!)

        // The packets that explain the result (SYN-ACK, RST, ICMP) reach the capture buffer
        // around the same moment as the wake-up; give them a short window to arrive.
        let drainUntil = clock.now() + 0.15
        while clock.now() < drainUntil && !captures.isEmpty {
            var fds = captures.values.map { pollfd(fd: $0.selectableFD, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 20)
            pumpCaptures()
        }

        let t = finishedAt!
        let firstSYN = synIndexTimes.first ?? started
        var outcome: Outcome
        let haveCapture = !captures.isEmpty
        let synsSent = haveCapture ? "\(tracker.synCount) SYN\(tracker.synCount == 1 ? "" : "s")" : "capture off"
        let icmp = timeline.events.last { $0.kind == .icmpUnreachable && $0.t >= started }
        let rst = timeline.events.last { $0.kind == .rst && $0.direction == .in && $0.t >= started }

        if interrupted {
            add(Event(t: t, source: .app, kind: .error, detail: "interrupted"))
            outcome = Outcome(status: .error, mechanism: .none, detectedAt: nil, predictedAt: firstSYN + schedule.giveUpAt,
                              summary: "interrupted after \(DurationText.format(t - started)) (\(synsSent) sent)")
        } else if deadlineHit {
            add(Event(t: t, source: .app, kind: .deadline, detail: "connect deadline of \(DurationText.format(config.connectTimeout ?? (t - started))) elapsed; closing the socket"))
            let kernelWouldAt = firstSYN + schedule.giveUpAt
            outcome = Outcome(status: .timeout, mechanism: .deadline, detectedAt: t, predictedAt: deadline ?? t,
                              summary: "no answer; the application deadline fired first at \(DurationText.trimmed(t - started))s (\(synsSent) sent)",
                              explanation: "the kernel alone would give up at t=\(DurationText.trimmed(kernelWouldAt))s: \(schedule.formula)",
                              extra: [("kernel_give_up_at", .double(round6(kernelWouldAt)))])
        } else if connectErrno == 0 {
            add(Event(t: t, source: .socket, kind: .connected, detail: "connect() succeeded"))
            var extra: [(String, JSONValue)] = [("connect_ms", .double(((t - started) * 1e6).rounded() / 1e3))]
            var rttText = ""
            if let sa = tracker.synAckAt, let last = tracker.lastSYNAt {
                extra.append(("handshake_rtt_ms", .double(((sa - last) * 1e6).rounded() / 1e3)))
                rttText = ", handshake RTT \(DurationText.trimmed((sa - last) * 1000)) ms"
            }
            let retries = max(0, tracker.synCount - 1)
            let retryText = retries > 0 ? " after \(retries) SYN retransmission\(retries == 1 ? "" : "s")" : ""
            outcome = Outcome(status: .connected, mechanism: .none, detectedAt: t, predictedAt: nil,
                              summary: "connected in \(DurationText.trimmed((t - started) * 1000)) ms\(retryText)\(rttText)", extra: extra)
        } else {
            let e = connectErrno!
            let name = ErrnoName.name(e)
            add(Event(t: t, source: .socket, kind: .error, detail: "connect() failed: \(ErrnoName.message(e)) (\(name))", fields: [("errno", .string(name))]))
            outcome = Self.explainFailure(errno: e, at: t, started: started, firstSYN: firstSYN, schedule: schedule,
                                          synTimes: synIndexTimes, icmp: icmp, rst: rst, haveCapture: haveCapture, synsSent: synsSent)
        }
        return AttemptResult(outcome: outcome, settings: settings, interrupted: interrupted)
    }

    static func explainFailure(errno e: Int32, at t: Double, started: Double, firstSYN: Double, schedule: SYNSchedule,
                               synTimes: [Double], icmp: Event?, rst: Event?, haveCapture: Bool, synsSent: String) -> Outcome {
        let name = ErrnoName.name(e)
        let elapsed = DurationText.elapsed(t - started)
        if e == ETIMEDOUT && icmp == nil {
            let predicted = firstSYN + schedule.giveUpAt
            let late = t - predicted
            var why = "predicted \(DurationText.trimmed(schedule.giveUpAt))s after the first SYN (\(signedMs(late)) off): \(schedule.formula)"
            if let note = schedule.wheelNote { why += "\n" + note }
            else if schedule.hz == nil { why += "\nHZ unknown (/proc/timer_list unreadable): each timer may fire up to ~3 % late" }
            if haveCapture && synTimes.count != schedule.synTimes.count {
                why += "\nsaw \(synTimes.count) SYNs where the model predicts \(schedule.synTimes.count)"
            }
            return Outcome(status: .timeout, mechanism: .synRetriesExhausted, detectedAt: t, predictedAt: predicted, errno: name,
                           summary: "no answer to \(synsSent); the kernel gave up after \(elapsed) -> ETIMEDOUT",
                           explanation: why)
        }
        if let icmp {
            let type = icmp.field("icmp_type"), code = icmp.field("icmp_code")
            var extra: [(String, JSONValue)] = []
            if let type { extra.append(("icmp_type", type)) }
            if let code { extra.append(("icmp_code", code)) }
            let status: OutcomeStatus = e == ECONNREFUSED ? .refused : .unreachable
            let delay = DurationText.trimmed((icmp.t - (synTimes.last ?? started)) * 1000)
            var why = "the ICMP error arrived \(delay) ms after the last SYN; the kernel maps it to \(name)"
            if e == ETIMEDOUT || abs(t - icmp.t) > 0.5 {
                why = "the ICMP error arrived as a soft error while connect() held the socket; the kernel reported it at its next timer firing"
            }
            return Outcome(status: status, mechanism: .icmp, detectedAt: t, predictedAt: icmp.t, errno: name,
                           summary: "\(icmp.detail.split(separator: " from ").first ?? "ICMP error") -> \(name) after \(elapsed)",
                           explanation: why, extra: extra)
        }
        if e == ECONNREFUSED {
            let at = rst?.t ?? t
            let why = rst != nil ? "a closed port answers the SYN with RST at once; nothing to wait for"
                : "no capture: ECONNREFUSED on TCP means the peer answered RST (or an ICMP port unreachable)"
            return Outcome(status: .refused, mechanism: .rst, detectedAt: t, predictedAt: rst != nil ? at : nil, errno: name,
                           summary: "connection refused (RST) after \(elapsed)", explanation: why)
        }
        if e == EHOSTUNREACH || e == ENETUNREACH {
            return Outcome(status: .unreachable, mechanism: .none, detectedAt: t, errno: name,
                           summary: "\(ErrnoName.message(e)) (\(name)) after \(elapsed) with no ICMP on the wire",
                           explanation: "the local kernel found no route, or the neighbour (ARP/ND) never answered")
        }
        return Outcome(status: .error, mechanism: .none, detectedAt: t, errno: name,
                       summary: "connect() failed: \(ErrnoName.message(e)) (\(name)) after \(elapsed)")
    }
}

func signedMs(_ seconds: Double) -> String {
    let ms = (seconds * 1000).rounded()
    return (ms >= 0 ? "+" : "") + String(Int(ms)) + " ms"
}
