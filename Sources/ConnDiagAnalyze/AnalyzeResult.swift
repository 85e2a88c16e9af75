import ConnDiagCore
import ConnDiagDiagnosis

/// Everything `analyze` found in its input.
public struct AnalyzeResult: Sendable {
    public var files: [String]
    public var connections: [ConnectionReport]
    public var packets: Int
    public var tcpPackets: Int
    /// CLOCK_REALTIME nanoseconds of the first packet (t = 0), nil for an empty input.
    public var captureStartNanos: Int64?
    /// Time of the last packet, seconds after the first.
    public var captureEnd: Double
    /// Damage and limits met on the way (truncated file, bad record, snaplen, evictions).
    public var inputProblems: [String]
    /// A record libpcap could not read other than a truncated last one: exit 4 after the report.
    public var damaged: Bool
    public var stallThreshold: Double
    /// SIGINT/SIGTERM ended the input early; the report covers what was read.
    public var interrupted = false
    /// Packets that could not be decoded, by reason ("truncated ipv4", "unsupported link
    /// type LINKTYPE_NFLOG (239)"), most first.
    public var notDecoded: [InputCount] = []
    /// Packets decoded that hold no TCP, by what they hold ("UDP", "ICMP", "ARP"), most first.
    public var notTCP: [InputCount] = []

    /// Every connection's findings, most severe first.
    public var findings: [Finding] {
        connections.flatMap { $0.findings }.sorted {
            $0.severity != $1.severity ? $0.severity > $1.severity : (($0.connection ?? 0), ($0.t ?? 0)) < (($1.connection ?? 0), ($1.t ?? 0))
        }
    }

    public func connection(_ index: Int) -> ConnectionReport? { connections.first { $0.index == index } }

    /// The overall outcome: the outcome of the connection behind the most severe finding,
    /// or "nothing wrong" when no finding is worse than a notice.
    public var outcome: Outcome {
        if let worst = findings.first, worst.severity >= .warning, let i = worst.connection, let c = connection(i) {
            var o = c.outcome
            o.summary = "connection \(i) (\(c.client) -> \(c.server)): " + o.summary
            return o
        }
        let n = connections.count
        return Outcome(status: .connected, mechanism: .none,
                       summary: n == 0 ? "no TCP connections in the capture" : "\(n) connection\(n == 1 ? "" : "s"), nothing wrong found")
    }

    /// The report of the JSON contract: `command: "analyze"`, `connections[]`, `findings[]`.
    public func report(settings: [(String, JSONValue)]) -> Report {
        var extras: [(String, JSONValue)] = []
        var input = JSONObjectBuilder()
        input.add("files", .array(files.map { .string($0) }))
        input.add("packets", packets)
        input.add("tcp_packets", tcpPackets)
        input.add("capture_start_unix", captureStartNanos.map { JSONValue.double(Double($0) / 1e9) } ?? .null)
        input.add("duration_s", round6(captureEnd))
        input.add("problems", .array(inputProblems.map { .string($0) }))
        input.add("not_decoded", .array(notDecoded.map { $0.json(key: "reason") }))
        input.add("not_tcp", .array(notTCP.map { $0.json(key: "protocol") }))
        extras.append(("input", input.value))
        extras.append(("connections", .array(connections.map { $0.json })))
        extras.append(("findings", .array(findings.map { $0.json })))
        return Report(command: "analyze", target: nil, settings: settings, kernel: nil, capture: true,
                      attempts: [], outcome: outcome, interrupted: interrupted, extras: extras)
    }
}
