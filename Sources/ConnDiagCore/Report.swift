/// The host, address and port one connection went to.
public struct TargetInfo: Sendable {
    public var host: String
    public var address: String
    public var port: Int
    public init(host: String, address: String, port: Int) { self.host = host; self.address = address; self.port = port }
    public var json: JSONValue { .object([("host", .string(host)), ("address", .string(address)), ("port", .int(Int64(port)))]) }
    /// "host (address):port" or "address:port"; brackets for IPv6.
    public var display: String {
        let a = address.contains(":") ? "[\(address)]" : address
        return host == address ? "\(a):\(port)" : "\(host) (\(a)):\(port)"
    }
}

/// One connection attempt inside a run: its own events and outcome.
public struct AttemptReport: Sendable {
    public var index: Int
    public var target: TargetInfo
    public var label: String?
    public var settings: [(String, JSONValue)]
    public var events: [Event]
    /// Events a bounded timeline dropped from the middle of a long run.
    public var elision: EventElision
    public var outcome: Outcome
    public init(index: Int, target: TargetInfo, label: String? = nil, settings: [(String, JSONValue)] = [],
                events: [Event], elision: EventElision = EventElision(), outcome: Outcome) {
        self.index = index; self.target = target; self.label = label; self.settings = settings
        self.events = events; self.elision = elision; self.outcome = outcome
    }
}

/// Everything a command reports (JSON contract "conndiag/1", ARCHITECTURE.md §3).
public struct Report: Sendable {
    public static let schema = "conndiag/1"
    public var command: String
    public var target: TargetInfo?
    public var settings: [(String, JSONValue)]
    public var kernel: KernelSettings?
    /// False when packet capture was not available (socket-level events only).
    public var capture: Bool
    public var captureNote: String?
    public var attempts: [AttemptReport]
    public var outcome: Outcome
    public var interrupted: Bool
    /// Per-command extras appended at the top level (`streams`, `targets`, `scenarios`).
    public var extras: [(String, JSONValue)]
    /// The HTTP/2 streams the table draws one row each (the typed side of `streams`).
    public var http2Streams: [HTTP2StreamRow]

    public init(command: String, target: TargetInfo?, settings: [(String, JSONValue)], kernel: KernelSettings?,
                capture: Bool, captureNote: String? = nil, attempts: [AttemptReport], outcome: Outcome,
                interrupted: Bool = false, extras: [(String, JSONValue)] = [], http2Streams: [HTTP2StreamRow] = []) {
        self.command = command; self.target = target; self.settings = settings; self.kernel = kernel
        self.capture = capture; self.captureNote = captureNote; self.attempts = attempts
        self.outcome = outcome; self.interrupted = interrupted; self.extras = extras; self.http2Streams = http2Streams
    }

    public var allEvents: [Event] { attempts.flatMap { $0.events } }

    /// Everything the attempts' bounded timelines dropped.
    public var elision: EventElision {
        var e = EventElision()
        for a in attempts { e.merge(a.elision) }
        return e
    }

    /// The document without the events (the NDJSON summary line), or with them.
    public func json(includeEvents: Bool = true) -> JSONValue {
        var o: [(String, JSONValue)] = [
            ("schema", .string(Report.schema)),
            ("command", .string(command)),
            ("target", target?.json ?? .null),
            ("settings", .object(settings)),
            ("kernel", kernel?.json ?? .null),
            ("capture", .bool(capture)),
        ]
        if let n = captureNote { o.append(("capture_note", .string(n))) }
        if includeEvents { o.append(("events", .array(allEvents.map { $0.json }))) }
        let elided = elision
        if !elided.isEmpty { o.append(("events_elided", elided.json)) }
        o.append(("outcome", outcome.json))
        o.append(("interrupted", .bool(interrupted)))
        if attempts.count > 1 || attempts.contains(where: { $0.label != nil }) {
            o.append(("attempts", .array(attempts.map { a in
                var b = JSONObjectBuilder()
                b.add("attempt", a.index)
                b.add("label", a.label)
                b.add("target", a.target.json)
                if !a.settings.isEmpty { b.add("settings", .object(a.settings)) }
                b.add("events", a.events.count)
                b.add("outcome", a.outcome.json)
                return b.value
            })))
        }
        o.append(contentsOf: extras)
        return .object(o)
    }
}
