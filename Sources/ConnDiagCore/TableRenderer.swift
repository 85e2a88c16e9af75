/// The human format: one line per event with the time in milliseconds, then the verdict.
public struct TableRenderer {
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

    /// The per-stream table of HTTP/2 commands: how each stream ended and the status each
    /// client family would report.
    public func renderStreams(_ report: Report) -> String {
        guard case .array(let streams)? = report.extras.first(where: { $0.0 == "streams" })?.1, !streams.isEmpty,
              streams.contains(where: { $0["clients"] != nil }) else { return "" }
        var out = paint("  streams:", "1") + "\n"
        out += "    " + "id".padding(to: 6) + "opened".padding(to: 10) + "ended".padding(to: 10) + "end".padding(to: 10)
            + "grpc-go".padding(to: 13) + "grpc-java".padding(to: 13) + "grpc-core".padding(to: 13) + "proxy".padding(to: 10) + "\n"
        func num(_ v: JSONValue?) -> String {
            switch v { case .int(let i)?: return String(i); case .double(let d)?: return DurationText.trimmed(d) + "s"; default: return "-" }
        }
        func str(_ v: JSONValue?) -> String { if case .string(let s)? = v { return s }; return "-" }
        for s in streams {
            var line = "    " + num(s["stream_id"]).padding(to: 6) + num(s["opened_at"]).padding(to: 10) + num(s["ended_at"]).padding(to: 10)
                + str(s["end"]).padding(to: 10)
            for f in ["grpc-go", "grpc-java", "grpc-core", "proxy"] {
                line += str(s["clients"]?[f]?["status"]).padding(to: f == "proxy" ? 10 : 13)
            }
            out += line + " " + str(s["detail"]) + "\n"
        }
        return out
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

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
