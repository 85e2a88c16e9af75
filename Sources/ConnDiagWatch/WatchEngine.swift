import Glibc
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPlatform
import ConnDiagTCP

/// `watch`: the analyze engine on a live capture. Every packet goes to one `AnalyzeEngine`
/// (`live`: a connection is reported the moment the wire closes it), so the same traffic gives
/// the same verdict live and from a file. Between packets the open connections are judged for
/// failures under way (`FailureJudge`): each gets one warning with the kernel model's
/// prediction, and its outcome later says whether it came as predicted. Never prints: events
/// go to `onEvent` as they become known. Runs on the calling thread, in its namespace.
public final class WatchEngine {
    public let options: WatchOptions
    public var onEvent: ((WatchEvent) -> Void)?
    /// Asked at every wake-up besides SIGINT/SIGTERM (tests stop a run this way).
    public var shouldStop: () -> Bool = { false }

    private let namespace: String
    private let analyze: AnalyzeEngine
    private var kernel = KernelSettings()
    private var judge: FailureJudge!
    private var sockets: LocalSocketOptions!
    private var capture: PacketCapture?
    private var reactor: Reactor?
    private var pcapRing: PcapRing?

    /// Warnings made, by connection index: the prediction its outcome is compared with.
    private var warned: [Int: FailureUnderWay] = [:]
    private var packetsHandled = 0
    private var received: UInt64 = 0
    private var dropped: UInt64 = 0
    /// Capture-axis time when the kernel's drop counter last grew.
    private var lastDropAt: Double?
    private var connectionsReported = 0
    private var warningsMade = 0
    private var findingsMade = 0
    private var byKind: [String: Int] = [:]
    private var byMechanism: [String: Int] = [:]
    private var worst: Severity?
    private var stoppedBy = "interrupted"
    private var captureError: String?
    private var evictions = 0

    /// Ticks: open connections judged every `judgeInterval` seconds.
    static let judgeInterval = 0.1

    public init(options: WatchOptions, namespace: String = "the current network namespace") {
        self.options = options
        self.namespace = namespace
        analyze = AnalyzeEngine(options: AnalyzeOptions(files: [], maxConnections: options.maxConnections,
                                                        stallThreshold: options.stallThreshold))
        analyze.live = true
    }

    /// Opens the capture in the calling thread's namespace and watches until the duration,
    /// the first finding asked for, `shouldStop`, or SIGINT/SIGTERM. Throws
    /// `ConnDiagError.environment` (exit 3) when the capture cannot be opened, `.usage` for a
    /// bad filter or pcap path.
    public func run() throws -> WatchSummary {
        kernel = KernelSettings.read()
        sockets = LocalSocketOptions(enabled: options.readSocketOptions)
        judge = FailureJudge(kernel: kernel, lookup: { [unowned self] in self.sockets.lookup(local: $0, remote: $1) })
        let filter = options.filter ?? WatchOptions.defaultFilter
        let capture: PacketCapture
        do {
            capture = try PacketCapture.openLive(interface: options.interface, filter: filter, snaplen: Int32(options.snaplen),
                                                 bufferSize: Int32(clamping: options.bufferSize),
                                                 immediate: options.immediate, timeoutMs: options.blockTimeoutMs)
        } catch let e as CaptureError {
            switch e {
            case .permissionDenied(let m): throw ConnDiagError.environment(m)
            default:
                if "\(e)".contains("syntax error") || "\(e)".contains("can't parse filter") { throw ConnDiagError.usage("--filter: \(e)") }
                throw ConnDiagError.environment("\(e)")
            }
        }
        self.capture = capture
        defer { capture.close(); self.capture = nil }
        if let path = options.writePcap {
            let ring = PcapRing(path: path, limitBytes: options.writePcapRingBytes)
            try ring.start(on: capture)
            pcapRing = ring
        }
        analyze.onConnection = { [unowned self] report in self.reported(report) }
        onEvent?(.started(WatchStart(interface: options.interface, filter: filter, namespace: namespace, kernel: kernel,
                                     linkType: capture.linkType.description)))

        let clock = RunClock()
        let reactor = Reactor(clock: clock)
        self.reactor = reactor
        reactor.registerCapture(fd: capture.selectableFD) { [unowned self] in self.pump() }
        func tick() {
            judgeOpenConnections()
            if shouldStop() { stoppedBy = "stopped"; reactor.stop() }
            reactor.schedule(at: clock.now() + Self.judgeInterval, tick)
        }
        reactor.schedule(at: Self.judgeInterval, tick)
        func status() {
            onEvent?(.status(currentStatus()))
            reactor.schedule(at: clock.now() + options.statusInterval, status)
        }
        reactor.schedule(at: options.statusInterval, status)

        switch reactor.run(until: options.duration) {
        case .deadline: stoppedBy = "duration"
        case .interrupted: stoppedBy = "interrupted"
        case .stopped: break
        }
        // `tick` and `status` reschedule themselves and hold this engine: drop them, and the
        // reactor, so the engine is freed (LeakSanitizer found the cycle).
        reactor.cancelAllTimers()
        defer { self.reactor = nil }
        pump()
        if !options.immediate {
            // The kernel hands a block over only when it fills or its timeout passes: packets
            // of the last few milliseconds are in a block userspace cannot see yet.
            usleep(UInt32(max(1, options.blockTimeoutMs)) * 2_000)
            pump()
        }
        readStatistics()
        // What is still open is reported as it stands (a stall, probes still unanswered).
        let now = nowOnCaptureAxis()
        analyze.forEachOpenConnection { judgeOne($0, now: now, final: true) }
        finishing = true
        let result = analyze.finish()
        problems += result.inputProblems.filter { $0.contains("evicted") }
        pcapRing?.stop(on: capture)
        let final = currentStatus()
        return WatchSummary(duration: clock.now(), interrupted: stoppedBy == "interrupted", stoppedBy: stoppedBy, status: final,
                            connectionsReported: connectionsReported, warningsInProgress: warningsMade,
                            findingsByKind: byKind.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) },
                            outcomesByMechanism: byMechanism.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) },
                            worstSeverity: worst, evictionNote: problems.first { $0.contains("evicted") },
                            pcapNote: pcapRing?.note, problems: problems + (captureError.map { [$0] } ?? []))
    }

    private var problems: [String] = []
    /// The run is over: what is reported now is what was still open.
    private var finishing = false

    // MARK: - Packets

    private func pump() {
        guard let capture else { return }
        let link = capture.linkType
        while true {
            let status = capture.read(limit: 1000) { packet in
                self.packetsHandled += 1
                if let ring = self.pcapRing {
                    // The dumper has written this packet: the ring may turn before the next one.
                    ring.count(packet)
                    ring.rotateIfFull(on: capture)
                }
                self.analyze.feed(packet.bytes, linkType: link, timestampNanos: packet.timestampNanos, originalLength: packet.originalLength)
            }
            switch status {
            case .more: continue
            case .drained, .endOfFile: break
            case .error(let message):
                captureError = "the capture failed: \(message)"
                stoppedBy = "capture-error"
                reactor?.stop()
            }
            break
        }
    }

    private func nowOnCaptureAxis() -> Double {
        analyze.time(ofRealtimeNanos: RunClock.nanos(CLOCK_REALTIME)) ?? 0
    }

    private func readStatistics() {
        guard let s = capture?.statistics() else { return }
        // The kernel's counters are 32-bit and wrap; keep running totals.
        let r = UInt64(s.received), d = UInt64(s.dropped)
        let newReceived = r >= (received & 0xffff_ffff) ? (received & ~0xffff_ffff) | r : (received & ~0xffff_ffff) + (1 << 32) + r
        let newDropped = d >= (dropped & 0xffff_ffff) ? (dropped & ~0xffff_ffff) | d : (dropped & ~0xffff_ffff) + (1 << 32) + d
        if newDropped > dropped { lastDropAt = nowOnCaptureAxis() }
        received = newReceived; dropped = newDropped
    }

    private func currentStatus() -> WatchStatus {
        readStatistics()
        return WatchStatus(t: nowOnCaptureAxis(), packetsReceived: received, packetsDropped: dropped, packetsHandled: packetsHandled,
                           connectionsOpen: analyze.openConnectionCount, connectionsReported: connectionsReported, findings: findingsMade)
    }

    // MARK: - Judging open connections

    private func judgeOpenConnections() {
        guard analyze.originNanos != nil else { return }
        readStatistics()
        let now = nowOnCaptureAxis()
        analyze.tick(at: now)
        var open: [OpenConnection] = []
        analyze.forEachOpenConnection { open.append($0) }
        for c in open { judgeOne(c, now: now, final: false) }
    }

    private func judgeOne(_ c: OpenConnection, now: Double, final: Bool) {
        // A connect refused by an ICMP error is decided once the error is in.
        if let icmp = c.tracker.icmpErrors.first, c.tracker.sides[1].synAckAt == nil, !final, now - icmp.t >= FailureJudge.settleMargin {
            analyze.settleNow(c, at: now)
            return
        }
        guard let f = judge.judge(c, now: now) else { return }
        if warned[c.index]?.episode != f.episode {
            warned[c.index] = f
            warningsMade += 1
            emit(WatchFinding(phase: .inProgress, severity: .warning, kind: f.kind, mechanism: f.mechanism, connection: c.index,
                              client: c.client, server: c.server, protocolName: c.protocolName, t: now,
                              wallNanos: RunClock.nanos(CLOCK_REALTIME), summary: f.summary, predictedAt: f.predictedAt,
                              basis: f.basis.isEmpty ? nil : f.basis, check: nil, happenedAt: nil, outcome: nil, report: nil,
                              dropsWhileOpen: lastDropAt.map { $0 >= c.tracker.firstAt } ?? false))
        }
        if f.decided && !final { analyze.settleNow(c, at: now) }
    }

    // MARK: - Outcomes

    private func reported(_ r: ConnectionReport) {
        connectionsReported += 1
        // Drops up to this moment may be behind this verdict (the kernel counts them as they happen).
        readStatistics()
        let prediction = warned.removeValue(forKey: r.index)
        let worstFinding = r.findings.first  // sorted most severe first
        let killed = r.streamsKilledByClose
        guard prediction != nil || killed > 0 || (worstFinding.map { $0.severity >= .warning } ?? false) else { return }
        let o = r.outcome
        byMechanism[o.mechanism.rawValue, default: 0] += 1
        let happened = o.detectedAt ?? o.predictedAt
        var check: String?
        if let p = prediction, let predictedAt = p.predictedAt {
            if finishing && nowOnCaptureAxis() < predictedAt {
                // Reported because the watch ends, not because the failure did.
                check = "still under way when the watch ended; predicted \(p.mechanism.rawValue) at +\(DurationText.trimmed(predictedAt - p.since)) s"
            } else {
                check = Self.compare(p, predictedAt: predictedAt, outcome: o, happened: happened)
            }
        }
        var summary = o.summary
        if let check { summary += " (" + check + ")" }
        if killed > 0 {
            // A close under open streams is a failure for their clients even when the TCP
            // close itself is an orderly FIN.
            summary += "; \(killed) HTTP/2 stream\(killed == 1 ? " was" : "s were") open when the connection ended: \(killed == 1 ? "its client sees" : "their clients see") an error"
        }
        var severity = worstFinding?.severity ?? .notice
        var kind = worstFinding?.kind ?? o.mechanism.rawValue
        if killed > 0 && severity < .warning { severity = .warning; kind = "streams-cut-by-close" }
        let drops = lastDropAt.map { $0 >= r.firstAt } ?? false
        if drops { summary += "; the capture dropped packets while this connection was open, so the verdict may miss some of them" }
        emit(WatchFinding(phase: .outcome, severity: severity, kind: kind,
                          mechanism: o.mechanism, connection: r.index, client: r.client, server: r.server, protocolName: r.protocolName,
                          t: max(nowOnCaptureAxis(), r.lastAt), wallNanos: RunClock.nanos(CLOCK_REALTIME), summary: summary,
                          predictedAt: prediction?.predictedAt, basis: prediction.flatMap { $0.basis.isEmpty ? nil : $0.basis }, check: check, happenedAt: happened,
                          outcome: o, report: r, dropsWhileOpen: drops))
    }

    /// "as predicted" when the mechanism agrees and the time is within the timer wheel's
    /// lateness; else what was predicted beside what happened.
    static func compare(_ p: FailureUnderWay, predictedAt: Double, outcome o: Outcome, happened: Double?) -> String {
        let idleFamily: Set<Mechanism> = [.keepalive, .userTimeout]
        let sameMechanism = o.mechanism == p.mechanism || (idleFamily.contains(o.mechanism) && idleFamily.contains(p.mechanism))
        let predictedText = "+\(DurationText.trimmed(predictedAt - p.since)) s"
        if o.detectedAt == nil && sameMechanism, let h = happened, abs(h - predictedAt) <= 0.05 + 0.03 * max(0, predictedAt - p.since) {
            // A connect or a retransmission limit given up sends nothing: the silence after the
            // predicted moment is what was seen.
            return "as predicted: nothing more on the wire after the predicted \(o.mechanism.rawValue) at +\(DurationText.trimmed(predictedAt - p.since)) s (giving up sends nothing)"
        }
        guard let h = happened else {
            if sameMechanism {
                return "as predicted: \(o.mechanism.rawValue), predicted at \(predictedText) (giving up sends nothing, so the moment itself is not seen)"
            }
            return "predicted \(p.mechanism.rawValue) at \(predictedText), happened \(o.mechanism.rawValue)"
        }
        let tolerance = 0.05 + 0.03 * max(0, predictedAt - p.since)
        if sameMechanism && abs(h - predictedAt) <= tolerance {
            return "as predicted: \(o.mechanism.rawValue) at +\(DurationText.trimmed(h - p.since)) s, predicted \(predictedText)"
        }
        return "predicted \(p.mechanism.rawValue) at \(predictedText), happened \(o.mechanism.rawValue) at +\(DurationText.trimmed(h - p.since)) s"
    }

    private func emit(_ f: WatchFinding) {
        findingsMade += 1
        byKind[f.kind, default: 0] += 1
        if worst.map({ f.severity > $0 }) ?? true { worst = f.severity }
        onEvent?(.finding(f))
        if let threshold = options.untilFirst, f.severity >= threshold {
            stoppedBy = "until-first"
            reactor?.stop()
        }
    }
}
