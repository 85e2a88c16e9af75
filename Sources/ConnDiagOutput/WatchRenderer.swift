import Glibc
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagWatch

/// `watch`'s output as it happens: table (one line per finding, coloured by severity), ndjson
/// (one record per finding and per status, then the summary) or json (one document at the
/// end). The exit code follows `--expect none`.
public final class WatchRenderer {
    public let format: OutputFormat
    public let color: Bool
    /// `--expect none`: a finding at or above warning fails the run.
    public let expectNone: Bool
    private var start: WatchStart?
    private var findings: [JSONValue] = []
    /// The json document keeps at most this many findings (the summary counts all of them).
    static let documentFindingCap = 10_000
    private var omittedFindings = 0
    private let settings: [(String, JSONValue)]

    public init(format: OutputFormat, color: Bool, expectNone: Bool, settings: [(String, JSONValue)]) {
        self.format = format; self.color = color; self.expectNone = expectNone; self.settings = settings
    }

    public func handle(_ event: WatchEvent) {
        switch event {
        case .started(let s):
            start = s
            switch format {
            case .ndjson: StandardOutput.write(record("start", startJSON(s)))
            case .table:
                StandardOutput.write("watching \(s.interface) in \(s.namespace) (\(s.linkType)); Ctrl-C for the summary\n")
            case .json: break
            }
        case .finding(let f):
            let json = findingJSON(f)
            switch format {
            case .ndjson: StandardOutput.write(record("finding", json))
            case .table: StandardOutput.write(tableLine(f))
            case .json:
                if findings.count < Self.documentFindingCap { findings.append(json) } else { omittedFindings += 1 }
            }
        case .status(let s):
            switch format {
            case .ndjson: StandardOutput.write(record("status", statusJSON(s)))
            case .table:
                if isatty(STDERR_FILENO) != 0 {
                    StandardOutput.writeError("  \(Self.clock(RunClock.nanos(CLOCK_REALTIME)))  \(s.packetsReceived) packets, \(s.packetsDropped) dropped by the kernel, \(s.connectionsOpen) connections open, \(s.findings) findings\n")
                }
            case .json: break
            }
        }
    }

    /// Writes the summary (and the json document) and returns the exit status.
    public func finish(_ summary: WatchSummary) -> ExitStatus {
        let failed = expectNone && (summary.worstSeverity.map { $0 >= .warning } ?? false)
        let summaryJSON = self.summaryJSON(summary, failed: failed)
        switch format {
        case .ndjson: StandardOutput.write(record("summary", summaryJSON))
        case .json:
            var b = JSONObjectBuilder()
            b.add("schema", "conndiag/1")
            b.add("command", "watch")
            b.add("settings", .object(settings))
            if let s = start {
                b.add("capture", startJSON(s))
                b.add("kernel", s.kernel.json)
            }
            b.add("findings", .array(findings))
            if omittedFindings > 0 { b.add("omitted_findings", omittedFindings) }
            b.add("summary", summaryJSON)
            b.add("interrupted", summary.interrupted)
            StandardOutput.write(b.value.serialized(pretty: true) + "\n")
        case .table:
            var lines = ["", "watched \(DurationText.elapsed(summary.duration)): \(summary.status.packetsReceived) packets (\(summary.status.packetsDropped) dropped by the kernel), \(summary.connectionsReported) connections reported, \(summary.status.connectionsOpen) open at the end"]
            if summary.findingsByKind.isEmpty { lines.append("no findings") }
            else { lines.append("findings: " + summary.findingsByKind.map { "\($0.kind) \($0.count)" }.joined(separator: ", ")) }
            if !summary.outcomesByMechanism.isEmpty { lines.append("outcomes by mechanism: " + summary.outcomesByMechanism.map { "\($0.mechanism) \($0.count)" }.joined(separator: ", ")) }
            if summary.status.packetsDropped > 0 { lines.append("the kernel dropped \(summary.status.packetsDropped) packets: verdicts of connections open then may miss some (raise --buffer-size or narrow --filter)") }
            for p in summary.problems { lines.append("note: \(p)") }
            if let p = summary.pcapNote { lines.append(p) }
            if expectNone { lines.append(failed ? "expect none: FAILED (a finding at or above warning)" : "expect none: held") }
            StandardOutput.write(lines.joined(separator: "\n") + "\n")
        }
        return failed ? .failureObserved : .ok
    }

    // MARK: - Records

    private func record(_ type: String, _ value: JSONValue) -> String {
        guard case .object(let pairs) = value else { return value.serialized() + "\n" }
        return JSONValue.object([("type", .string(type))] + pairs).serialized() + "\n"
    }

    private func startJSON(_ s: WatchStart) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("interface", s.interface)
        b.add("filter", s.filter)
        b.add("namespace", s.namespace)
        b.add("link_type", s.linkType)
        b.add("time", unix(RunClock.nanos(CLOCK_REALTIME)))
        if format == .ndjson { b.add("kernel", s.kernel.json); b.add("settings", .object(settings)) }
        return b.value
    }

    func findingJSON(_ f: WatchFinding) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("phase", f.phase.rawValue)
        b.add("severity", f.severity.rawValue)
        b.add("kind", f.kind)
        b.add("mechanism", f.mechanism.rawValue)
        b.add("connection", f.connection)
        b.add("client", f.client.description)
        b.add("server", f.server.description)
        b.add("protocol", f.protocolName)
        b.add("time", unix(f.wallNanos))
        b.add("t", round6(f.t))
        b.add("summary", f.summary)
        b.add("predicted_at", f.predictedAt.map { .double(round6($0)) } ?? .null)
        if let basis = f.basis { b.add("prediction_basis", basis) }
        if let c = f.check { b.add("prediction_check", c) }
        if f.phase == .outcome { b.add("happened_at", f.happenedAt.map { .double(round6($0)) } ?? .null) }
        if f.dropsWhileOpen { b.add("capture_dropped_packets", true) }
        if let o = f.outcome { b.add("outcome", o.json) }
        if let r = f.report, format != .table {
            b.add("findings", .array(r.findings.map { $0.json }))
            b.add("packets", r.packets)
            b.add("first_at", round6(r.firstAt))
            b.add("last_at", round6(r.lastAt))
        }
        return b.value
    }

    private func statusJSON(_ s: WatchStatus) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("time", unix(RunClock.nanos(CLOCK_REALTIME)))
        b.add("t", round6(s.t))
        b.add("packets_received", Int(s.packetsReceived))
        b.add("packets_dropped", Int(s.packetsDropped))
        b.add("packets_handled", s.packetsHandled)
        b.add("connections_open", s.connectionsOpen)
        b.add("connections_reported", s.connectionsReported)
        b.add("findings", s.findings)
        return b.value
    }

    private func summaryJSON(_ s: WatchSummary, failed: Bool) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("duration_s", round6(s.duration))
        b.add("stopped_by", s.stoppedBy)
        b.add("interrupted", s.interrupted)
        b.add("packets_received", Int(s.status.packetsReceived))
        b.add("packets_dropped", Int(s.status.packetsDropped))
        b.add("packets_handled", s.status.packetsHandled)
        b.add("connections_reported", s.connectionsReported)
        b.add("connections_open", s.status.connectionsOpen)
        b.add("warnings_in_progress", s.warningsInProgress)
        b.add("findings_by_kind", .object(s.findingsByKind.map { ($0.kind, .int(Int64($0.count))) }))
        b.add("outcomes_by_mechanism", .object(s.outcomesByMechanism.map { ($0.mechanism, .int(Int64($0.count))) }))
        b.add("worst_severity", s.worstSeverity.map { .string($0.rawValue) } ?? .null)
        b.add("problems", .array(s.problems.map { .string($0) }))
        if let p = s.pcapNote { b.add("pcap", p) }
        if expectNone { b.add("expectations", .array([.object([("expect", .string("none")), ("held", .bool(!failed))])])) }
        return b.value
    }

    // MARK: - Table

    private func tableLine(_ f: WatchFinding) -> String {
        let sev = f.severity.rawValue.padding(to: 8)
        let coloured: String
        if color {
            let code: String
            switch f.severity {
            case .critical: code = "31;1"
            case .warning: code = "33"
            case .notice: code = "36"
            case .info: code = "2"
            }
            coloured = "\u{1B}[\(code)m\(sev)\u{1B}[0m"
        } else {
            coloured = sev
        }
        return "  \(Self.clock(f.wallNanos))  \(coloured)  \(f.client) -> \(f.server)  \(f.protocolName)  \(f.summary)\n"
    }

    /// HH:MM:SS.mmm in local time.
    static func clock(_ nanos: Int64) -> String {
        var secs = time_t(nanos / 1_000_000_000)
        var tm = Glibc.tm()
        localtime_r(&secs, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int((nanos % 1_000_000_000) / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)).\(msText)"
    }

    private func unix(_ nanos: Int64) -> Double { (Double(nanos) / 1e6).rounded() / 1e3 }
}
