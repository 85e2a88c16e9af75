import ConnDiagCore
import ConnDiagInspect

/// The `inspect` table: a header naming the process and the namespace, one row per
/// connection (the options set, the timer, what a vanished peer would meet), the findings,
/// and with --follow the events and each death beside its prediction.
struct InspectTableRenderer {
    var color: Bool

    func render(_ r: InspectResult, events: [Event]) -> String {
        var out = "conndiag inspect "
        if let pid = r.pid { out += "pid \(pid) (\(r.command ?? "?")), " } else { out += "all sockets, " }
        out += r.ownNamespace ? "own net namespace \(r.namespace)\n" : "net namespace of pid \(r.pid.map(String.init) ?? "?") \(r.namespace)\n"
        if let note = r.ownershipNote { out += "note: \(note)\n" }
        let header = ["#", "local", "remote", "state", "keepalive", "user-timeout", "timer", "if the peer vanished now"]
        var rows: [[String]] = [header]
        for c in r.connections {
            rows.append(["\(c.index)", c.socket.local, c.socket.remote, c.socket.state.description,
                         keepalive(c.options, c.socket), userTimeout(c.options), timer(c.socket), c.prediction.explanation])
        }
        let widths = (0..<header.count - 1).map { i in rows.map { $0[i].count }.max() ?? 0 }
        for row in rows {
            var line = "  "
            for (i, cell) in row.enumerated() { line += i < widths.count ? cell.column(widths[i] + 1) : cell }
            out += line + "\n"
        }
        if r.connections.isEmpty { out += "  (no TCP connection matched)\n" }
        if let unknown = r.connections.first(where: { $0.options.options == nil }), case .unknown(let why) = unknown.options {
            out += "options: \(why)\n"
        }
        if !r.findings.isEmpty {
            out += "findings:\n"
            for f in r.findings { out += "  \(f.severity.rawValue.padding(to: 8)) \(f.message)\n" }
        }
        if let follow = r.follow {
            if let note = follow.captureNote { out += "note: \(note)\n" }
            if let note = follow.capNote { out += "note: \(note)\n" }
            out += "followed (\(follow.samples) samples\(follow.captureRequested && follow.captureNote == nil ? ", with capture" : "")):\n"
            for e in events { out += "  \(DurationText.trimmed(e.t).padding(to: 9)) \(e.detail)\n" }
            if follow.deaths.isEmpty { out += "  no connection died\n" }
        }
        if r.interrupted { out += "interrupted\n" }
        return out
    }

    func keepalive(_ o: OptionsReading, _ s: SockDiagSocket) -> String {
        guard let o = o.options else { return InferredOptions.keepaliveOn(s) ? "on (inferred)" : "unknown" }
        return o.keepalive ? "on \(o.keepIdle)s/\(o.keepInterval)s×\(o.keepCount)" : "off"
    }

    func userTimeout(_ o: OptionsReading) -> String {
        guard let o = o.options else { return "unknown" }
        return o.userTimeoutMs == 0 ? "0" : DurationText.elapsed(o.userTimeout).replacingSpaces()
    }

    func timer(_ s: SockDiagSocket) -> String {
        let left = DurationText.elapsed(Double(s.expiresMs) / 1000).replacingSpaces()
        switch s.timer {
        case .none: return "-"
        case .retransmit: return "retrans \(left) (#\(s.timerRetransmits))"
        case .keepalive: return "keepalive \(left)" + (s.timerRetransmits > 0 ? " (probes \(s.timerRetransmits))" : "")
        case .timeWait: return "time-wait \(left)"
        case .zeroWindowProbe: return "zero-window \(left) (probes \(s.timerRetransmits))"
        default: return "\(s.timer) \(left)"
        }
    }
}

extension String {
    func replacingSpaces() -> String { String(filter { $0 != " " }) }
}
