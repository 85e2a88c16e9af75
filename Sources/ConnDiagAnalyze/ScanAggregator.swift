import ConnDiagCore
import ConnDiagPacket

/// Many connection attempts from one source that never became connections (SYNs unanswered
/// or refused, SYN-ACKs answered with RST, FIN/XMAS/NULL probes) are one scan or flood, not
/// hundreds of failed connections: `fold` turns them into one finding and lowers each
/// attempt's own to `info`.
struct ScanAggregator {
    /// Attempts from one source before they count as a scan or a flood.
    static let threshold = 10
    /// Finding kinds that say "an attempt that never became a connection".
    static let attemptKinds: Set<String> = [
        "syn-unanswered", "syn-retries-exhausted", "syn-capture-too-short", "refused", "unreachable",
        "client-abort", "half-open", "scan-probe",
    ]

    static func isAttempt(_ r: ConnectionReport) -> Bool {
        r.bytesClientToServer == 0 && r.findings.contains { attemptKinds.contains($0.kind) }
    }

    /// Folds the attempts of each source with at least `threshold` of them.
    static func fold(_ reports: inout [ConnectionReport]) {
        var bySource: [IPAddress: [Int]] = [:]
        for (i, r) in reports.enumerated() where isAttempt(r) { bySource[r.client.address, default: []].append(i) }
        for (source, members) in bySource.sorted(by: { $0.value[0] < $1.value[0] }) where members.count >= threshold {
            let rs = members.map { reports[$0] }
            let hosts = Set(rs.map { $0.server.address }), ports = Set(rs.map { $0.server.port })
            let start = rs.map(\.firstAt).min()!, end = rs.map(\.lastAt).max()!
            func count(_ kinds: Set<String>) -> Int { rs.filter { $0.findings.contains { kinds.contains($0.kind) } }.count }
            let refused = count(["refused", "scan-probe"]), open = count(["half-open"])
            let unanswered = count(["syn-unanswered", "syn-retries-exhausted", "syn-capture-too-short"])
            let what = ports.count >= threshold ? "a port scan" : hosts.count >= threshold ? "a host sweep" : "a SYN flood"
            var parts: [String] = []
            if refused > 0 { parts.append("\(refused) refused (RST)") }
            if open > 0 { parts.append("\(open) answered with SYN-ACK (open) then reset by \(source)") }
            if unanswered > 0 { parts.append("\(unanswered) unanswered") }
            let rest = rs.count - refused - open - unanswered
            if rest > 0 { parts.append("\(rest) otherwise ended") }
            let target = hosts.count == 1 ? "\(hosts.first!)" : "\(hosts.count) hosts"
            let portText = ports.count == 1 ? "port \(ports.first!)" : "\(ports.count) ports"
            let summary = "\(what) from \(source): \(rs.count) connection attempts to \(portText) on \(target) in \(DurationText.elapsed(end - start)) (connections \(rs.first!.index)–\(rs.last!.index)): " + parts.joined(separator: ", ")
            for i in members {
                for j in reports[i].findings.indices where attemptKinds.contains(reports[i].findings[j].kind) { reports[i].findings[j].severity = .info }
                reports[i].notes.append("one of \(rs.count) attempts of \(what) from \(source) (see connection \(rs.first!.index))")
            }
            reports[members[0]].findings.insert(Finding(severity: .warning, kind: "scan", connection: reports[members[0]].index, t: start, summary: summary), at: 0)
        }
    }
}
