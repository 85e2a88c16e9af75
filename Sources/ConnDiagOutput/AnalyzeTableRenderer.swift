import ConnDiagAnalyze
import ConnDiagCore

/// The human format of `analyze`: one line per connection with its outcome, then the
/// findings ranked by severity; with `timelines`, each connection's events first.
public struct AnalyzeTableRenderer {
    public var color: Bool
    public var timelines: Bool
    public init(color: Bool, timelines: Bool) { self.color = color; self.timelines = timelines }

    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    public func render(_ r: AnalyzeResult) -> String {
        var out = paint("conndiag analyze \(r.files.joined(separator: " "))", "1") + "\n"
        out += paint("  \(r.packets) packets (\(r.tcpPackets) TCP), \(DurationText.elapsed(r.captureEnd)), \(r.connections.count) connection\(r.connections.count == 1 ? "" : "s")", "2") + "\n"
        for p in r.inputProblems { out += "  " + paint("input: ", "33") + p + "\n" }
        if !r.notDecoded.isEmpty {
            out += "  " + paint("input: ", "33") + "not decoded: " + r.notDecoded.map { "\($0.packets) \($0.reason)" }.joined(separator: ", ") + "\n"
        }
        if r.interrupted { out += "  " + paint("interrupted: ", "33") + "the input was cut short by SIGINT/SIGTERM; what was read is analysed\n" }
        if timelines {
            let events = EventTableRenderer(color: color)
            for c in r.connections {
                out += "\n" + paint("connection \(c.index)  \(c.client) -> \(c.server)  [\(c.protocolName)\(c.protocolDetail.map { ": " + $0 } ?? "")]", "1") + "\n"
                out += events.renderEvents(c.events)
                if c.omittedEvents > 0 { out += "  (\(c.omittedEvents) routine events not kept)\n" }
                out += events.verdict(c.outcome)
            }
            out += "\n"
        }
        out += paint("connections:", "1") + "\n"
        for c in r.connections { out += line(c) + "\n" }
        let findings = r.findings
        if !findings.isEmpty {
            out += paint("findings:", "1") + "\n"
            for f in findings {
                let sev = f.severity.rawValue.column(8)
                let code = f.severity == .critical ? "31" : (f.severity == .warning ? "33" : "2")
                out += "  " + paint(sev, code) + " " + (f.connection.map { "#\($0) " } ?? "") + f.summary + "\n"
            }
        }
        out += paint("verdict: ", "1") + r.outcome.summary + "\n"
        return out
    }

    public func line(_ c: ConnectionReport) -> String {
        let o = c.outcome
        let head = "  #\(c.index)".column(6) + "\(c.client) -> \(c.server)".column(46) + c.protocolName.column(7)
            + "\(DurationText.trimmed(c.firstAt))-\(DurationText.trimmed(c.lastAt))s".column(16)
        let status = "\(o.status.rawValue)/\(o.mechanism.rawValue)".column(32)
        return head + paint(status, o.isHealthy || o.status == .closed && o.mechanism != .goawayGraceExpired && o.mechanism != .peerRst ? "32" : "31") + " " + o.summary
            + (c.protocolDetail.map { "  [\($0)]" } ?? "")
    }
}
