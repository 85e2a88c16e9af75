import ConnDiagCore
import ConnDiagDiagnosis

/// How much a finding matters; findings are listed most severe first.
public enum Severity: String, Sendable, Comparable {
    case critical, warning, notice, info
    var rank: Int { switch self { case .critical: return 3; case .warning: return 2; case .notice: return 1; case .info: return 0 } }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One thing worth a person's attention, tied to a connection and a time.
public struct Finding: Sendable {
    public var severity: Severity
    /// e.g. "keepalive-death", "flow-control-stall", "goaway-grace-expired", "capture-gap".
    public var kind: String
    public var connection: Int?
    public var t: Double?
    public var summary: String

    public init(severity: Severity, kind: String, connection: Int?, t: Double?, summary: String) {
        self.severity = severity; self.kind = kind; self.connection = connection; self.t = t; self.summary = summary
    }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("severity", severity.rawValue)
        b.add("kind", kind)
        b.add("connection", connection.map { JSONValue.int(Int64($0)) } ?? .null)
        b.add("t", t.map { JSONValue.double(round6($0)) } ?? .null)
        b.add("summary", summary)
        return b.value
    }
}

extension Finding {
    /// A diagnoser's finding on connection `connection`.
    init(_ f: DiagnosisFinding, connection: Int) {
        let severity: Severity
        switch f.severity {
        case .critical: severity = .critical
        case .warning: severity = .warning
        case .notice: severity = .notice
        case .info: severity = .info
        }
        self.init(severity: severity, kind: f.kind, connection: connection, t: f.t, summary: f.summary)
    }
}

/// What `analyze` reports for one connection.
public struct ConnectionReport: Sendable {
    public var index: Int
    public var client: Endpoint
    public var server: Endpoint
    /// How the client side was told: "syn", "syn-ack", "preface", "port", "lower-port".
    public var clientChosenBy: String
    public var midConnection: Bool
    public var firstAt: Double
    public var lastAt: Double
    public var packets: Int
    public var bytesClientToServer: Int
    public var bytesServerToClient: Int
    public var events: [Event]
    public var omittedEvents: Int
    public var outcome: Outcome
    public var findings: [Finding]
    public var protocolName: String
    /// One line on the protocol for the table ("TLS 1.2, SNI example.com, ALPN h2").
    public var protocolDetail: String?
    /// Per-stream records (HTTP/2), as goaway-trace reports them.
    public var streams: [JSONValue]
    /// Records of completed streams left out by the run's budget (see `RunBudget`).
    public var omittedStreams = 0
    /// HTTP/2 streams still open when the TCP connection ended under them (their clients see
    /// an error). Typed for live sources (`watch`); the JSON shows it in the stream records.
    public var streamsKilledByClose = 0
    /// TCP and HTTP/2 statistics.
    public var details: [(String, JSONValue)]
    public var notes: [String]

    public var target: TargetInfo {
        TargetInfo(host: server.address.description, address: server.address.description, port: Int(server.port))
    }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("connection", index)
        b.add("target", target.json)
        b.add("client", client.description)
        b.add("server", server.description)
        b.add("client_chosen_by", clientChosenBy)
        b.add("mid_connection", midConnection)
        b.add("protocol", protocolName)
        if let protocolDetail { b.add("protocol_detail", protocolDetail) }
        b.add("first_at", round6(firstAt))
        b.add("last_at", round6(lastAt))
        b.add("packets", packets)
        b.add("bytes_client_to_server", bytesClientToServer)
        b.add("bytes_server_to_client", bytesServerToClient)
        for (k, v) in details { b.add(k, v) }
        b.add("events", .array(events.map { $0.json }))
        if omittedEvents > 0 { b.add("omitted_events", omittedEvents) }
        if !streams.isEmpty { b.add("streams", .array(streams)) }
        if omittedStreams > 0 { b.add("omitted_streams", omittedStreams) }
        b.add("outcome", outcome.json)
        b.add("findings", .array(findings.map { $0.json }))
        if !notes.isEmpty { b.add("notes", .array(notes.map { .string($0) })) }
        return b.value
    }
}
