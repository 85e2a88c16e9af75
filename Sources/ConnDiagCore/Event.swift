/// Where an event was observed.
public enum EventSource: String, Sendable {
    case socket   // a syscall result or TCP_INFO sample
    case wire     // a packet seen by libpcap
    case h2       // an HTTP/2 frame sent or received by the session
    case app      // conndiag's own action (connect started, deadline, write)
}

/// Event kinds of the JSON contract (ARCHITECTURE.md §3). Open: new kinds need no enum change.
public struct EventKind: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public static let connectStart: EventKind = "connect-start"
    public static let connected: EventKind = "connected"
    public static let syn: EventKind = "syn"
    public static let synRetransmit: EventKind = "syn-retransmit"
    public static let synAck: EventKind = "syn-ack"
    public static let ack: EventKind = "ack"
    public static let rst: EventKind = "rst"
    public static let fin: EventKind = "fin"
    public static let icmpUnreachable: EventKind = "icmp-unreachable"
    public static let icmpError: EventKind = "icmp-error"
    public static let keepaliveProbe: EventKind = "keepalive-probe"
    public static let keepaliveAck: EventKind = "keepalive-ack"
    public static let retransmit: EventKind = "retransmit"
    public static let data: EventKind = "data"
    public static let zeroWindow: EventKind = "zero-window"
    public static let windowUpdate: EventKind = "window-update"
    public static let zeroWindowProbe: EventKind = "zero-window-probe"
    public static let synAckRetransmit: EventKind = "syn-ack-retransmit"
    public static let dupAck: EventKind = "dup-ack"
    public static let captureGap: EventKind = "capture-gap"
    public static let tcpInfo: EventKind = "tcp-info"
    public static let deadline: EventKind = "deadline"
    public static let error: EventKind = "error"
    public static let truncated: EventKind = "truncated"
    public static let invalid: EventKind = "invalid"
    public static let captureDrop: EventKind = "capture-drop"
}

public enum Direction: String, Sendable { case out, `in` }

/// One thing that happened, on the run's single clock.
public struct Event: Sendable {
    /// Seconds since the command started (pcap timestamp mapped onto the run clock for wire events).
    public var t: Double
    public var source: EventSource
    public var kind: EventKind
    public var direction: Direction?
    /// One line for the table, e.g. "SYN #2 seq=1234 (predicted 3.000 s, +12 ms)".
    public var detail: String
    /// Kind-specific JSON fields in contract order (seq, len, errno, stream_id, ...).
    public var fields: [(String, JSONValue)]

    public init(t: Double, source: EventSource, kind: EventKind, direction: Direction? = nil,
                detail: String = "", fields: [(String, JSONValue)] = []) {
        self.t = t; self.source = source; self.kind = kind; self.direction = direction
        self.detail = detail; self.fields = fields
    }

    public func field(_ key: String) -> JSONValue? { fields.first { $0.0 == key }?.1 }

    public var json: JSONValue {
        var o: [(String, JSONValue)] = [("t", .double((t * 1_000_000).rounded() / 1_000_000)),
                                         ("source", .string(source.rawValue)),
                                         ("kind", .string(kind.rawValue))]
        if let d = direction { o.append(("direction", .string(d.rawValue))) }
        o.append(contentsOf: fields)
        if !detail.isEmpty { o.append(("detail", .string(detail))) }
        return .object(o)
    }
}
