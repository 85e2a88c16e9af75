/// A JSON value with ordered object keys, so reports print in the order of the contract
/// (schema first, events before outcome) and diff cleanly between runs.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    /// Compact, single-line serialization (NDJSON needs one line per value).
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    /// The same text as `serialized(pretty:)`, handed to `sink` in pieces of about
    /// `chunk` bytes, so a large report is never held whole as text.
    public func serialize(pretty: Bool = false, chunk: Int = 1 << 16, to sink: (String) -> Void) {
        var out = ""
        out.reserveCapacity(chunk + 1024)
        write(to: &out, pretty: pretty, indent: 0) { text in
            if text.utf8.count >= chunk { sink(text); text.removeAll(keepingCapacity: true) }
        }
        if !out.isEmpty { sink(out) }
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        write(to: &out, pretty: pretty, indent: indent) { _ in }
    }

    private func write(to out: inout String, pretty: Bool, indent: Int, flush: (inout String) -> Void) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += JSONValue.format(d)
        case .string(let s): JSONValue.escape(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                v.write(to: &out, pretty: pretty, indent: indent + 1, flush: flush)
                flush(&out)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                JSONValue.escape(k, into: &out)
                out += pretty ? ": " : ":"
                v.write(to: &out, pretty: pretty, indent: indent + 1, flush: flush)
                flush(&out)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    /// Finite numbers only (JSON has no NaN); six decimals is microseconds for times in seconds.
    static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        var s = String(format6: d)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s += "0" }
        return s
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        // Most strings need no escaping: append them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else { out.unicodeScalars.append(u) }
            }
        }
        out += "\""
    }
}

extension String {
    /// Fixed six-decimal formatting without Foundation.
    public init(format6 d: Double) {
        let negative = d < 0
        let scaled = (abs(d) * 1_000_000).rounded()
        let whole = Int64(scaled / 1_000_000)
        let frac = Int64(scaled) - whole * 1_000_000
        let f = String(frac)
        self = (negative ? "-" : "") + String(whole) + "." + String(repeating: "0", count: 6 - f.count) + f
    }
}

/// Builds JSON objects in order with optional values left out.
public struct JSONObjectBuilder {
    public private(set) var pairs: [(String, JSONValue)] = []
    public init() {}
    public mutating func add(_ key: String, _ value: JSONValue) { pairs.append((key, value)) }
    public mutating func add(_ key: String, _ value: String?) { if let v = value { pairs.append((key, .string(v))) } }
    public mutating func add(_ key: String, _ value: Int?) { if let v = value { pairs.append((key, .int(Int64(v)))) } }
    public mutating func add(_ key: String, _ value: Double?) { if let v = value { pairs.append((key, .double(v))) } }
    public mutating func add(_ key: String, _ value: Bool?) { if let v = value { pairs.append((key, .bool(v))) } }
    public var value: JSONValue { .object(pairs) }
}
