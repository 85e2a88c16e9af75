import ConnDiagCore
import ConnDiagHTTP2Engine

/// The probe's table: one line per target and address, failed expectations marked, and a
/// closing summary line.
public struct ProbeTableRenderer {
    public var color: Bool
    public init(color: Bool) { self.color = color }
    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    public func render(_ results: [ProbeResult], summary: String, interrupted: Bool) -> String {
        var out = ""
        let width = max(24, results.map { $0.target.display.count }.max() ?? 0) + 2
        for r in results {
            let mark = r.healthy ? paint("ok  ", "32") : paint("FAIL", "31")
            let connect = r.connectMs.map { DurationText.trimmed($0) + " ms" } ?? "-"
            var line = "\(mark) \(r.target.display.padding(to: width)) \(r.outcome.status.rawValue.padding(to: 12)) \(connect.padding(to: 11)) \(r.outcome.summary)"
            if let days = r.tlsDaysLeft { line += "  [cert \(Int(days.rounded(.down))) days]" }
            out += line + "\n"
            for failure in r.expectationChecks.compactMap(\.failureText) {
                out += "       " + paint(failure, "31") + "\n"
            }
        }
        out += paint(summary, "1") + (interrupted ? " (interrupted)" : "") + "\n"
        return out
    }
}
