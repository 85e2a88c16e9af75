import ConnDiagCore

/// The human format of a run's report: one line per event with the time in milliseconds,
/// then the verdict.
public struct EventTableRenderer {
    public var color: Bool
    public init(color: Bool) { self.color = color }

    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    public func render(_ report: Report) -> String {
        var out = ""
        for attempt in report.attempts {
            out += header(report, attempt)
            if attempt.elision.isEmpty {
                out += renderEvents(attempt.events)
            } else {
                // The dropped events sat between the head of the run and its recent tail.
                let cut = attempt.events.firstIndex { $0.t > attempt.elision.from } ?? attempt.events.count
                out += renderEvents(Array(attempt.events[..<cut]))
                out += paint("  … ", "2") + attempt.elision.summary + "\n"
                out += renderEvents(Array(attempt.events[cut...]))
            }
            out += verdict(attempt.outcome)
            out += "\n"
        }
        out += renderStreams(report)
        if report.attempts.count > 1 {
            out += paint("overall: ", "1") + report.outcome.summary + "\n"
        }
        if !report.capture {
            out += paint("note: ", "33") + (report.captureNote ?? "no packet capture; socket-level events only") + "\n"
        }
        if report.interrupted { out += paint("interrupted: ", "33") + "the run was stopped before it finished\n" }
        return out
    }

    func header(_ report: Report, _ a: AttemptReport) -> String {
        var line = paint("conndiag \(report.command) \(a.target.display)", "1")
        if let l = a.label { line += "  [\(l)]" }
        let s = (a.settings.isEmpty ? report.settings : a.settings)
            .compactMap { (k, v) -> String? in
                switch v {
                case .null: return nil
                case .string(let x): return "\(k)=\(x)"
                case .int(let x): return "\(k)=\(x)"
                case .double(let x): return "\(k)=\(DurationText.trimmed(x))"
                case .bool(let x): return x ? k : nil
                default: return nil
                }
            }.joined(separator: " ")
        return line + "\n" + (s.isEmpty ? "" : paint("  " + s, "2") + "\n")
    }

    public func renderEvents(_ events: [Event]) -> String {
        var out = ""
        for e in events { out += line(e) + "\n" }
        return out
    }

    public func line(_ e: Event) -> String {
        let ms = String(format6: e.t * 1000)
        let msText = String(ms.dropLast(3))  // three decimals of a millisecond
        let time = String(repeating: " ", count: max(0, 11 - msText.count)) + msText + " ms"
        let src = e.source.rawValue.padding(to: 6)
        let dir = e.direction == .out ? "→" : (e.direction == .in ? "←" : " ")
        let kindText = e.kind.rawValue.padding(to: 16)
        let kind: String
        switch e.kind {
        case .rst, .icmpUnreachable, .error, .deadline, .invalid, .truncated: kind = paint(kindText, "31")
        case .synAck, .connected, .keepaliveAck: kind = paint(kindText, "32")
        case .synRetransmit, .retransmit, .keepaliveProbe: kind = paint(kindText, "33")
        default: kind = kindText
        }
        return "  \(time)  \(src) \(dir) \(kind) \(e.detail)"
    }

    public func verdict(_ o: Outcome) -> String {
        let at = o.detectedAt.map { "t=" + DurationText.trimmed($0) + "s  " } ?? ""
        let code: String = o.isHealthy ? "32" : "31"
        var out = "  " + paint("verdict:", "1") + " " + at + paint(o.summary, code) + "\n"
        if let e = o.explanation {
            for l in e.split(separator: "\n") { out += "           " + l + "\n" }
        }
        if let d = o.detectedAt, let p = o.predictedAt, o.status != .connected {
            let ms = ((d - p) * 1000).rounded()
            out += "           observed t=\(DurationText.trimmed(d))s, predicted t=\(DurationText.trimmed(p))s (\(ms >= 0 ? "+" : "")\(Int(ms)) ms)\n"
        } else if o.detectedAt == nil, let p = o.predictedAt {
            out += "           predicted t=\(DurationText.trimmed(p))s\n"
        }
        return out
    }
}
