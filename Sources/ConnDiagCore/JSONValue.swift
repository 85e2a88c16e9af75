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
        let w = JSONByteWriter(chunk: Int.max) { out += $0 }
        w.write(self, pretty: pretty, indent: 0)
        w.flush()
        return out
    }

    /// The same text as `serialized(pretty:)`, handed to `sink` in pieces of about
    /// `chunk` bytes, so a large report is never held whole as text.
    public func serialize(pretty: Bool = false, chunk: Int = 1 << 16, to sink: (String) -> Void) {
        withoutActuallyEscaping(sink) { sink in
            let w = JSONByteWriter(chunk: chunk, sink: sink)
            w.write(self, pretty: pretty, indent: 0)
            w.flush()
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

/// Writes JSON text as UTF-8 bytes into one reused buffer and hands it on as a String every
/// `chunk` bytes (checked after each array element and object member, as before). The text
/// is byte for byte what `JSONValue.format` and `JSONValue.escape` produce; writing bytes
/// avoids a String append (and an indentation String) per token of a multi-megabyte report.
final class JSONByteWriter {
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private let chunk: Int
    private let sink: (String) -> Void

    init(chunk: Int, sink: @escaping (String) -> Void) {
        self.chunk = chunk
        self.sink = sink
        capacity = chunk == Int.max ? 4096 : max(chunk + 1024, 4096)
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// Hands what is buffered to the sink.
    func flush() {
        guard count > 0 else { return }
        sink(String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self))
        count = 0
    }

    @inline(__always)
    private func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private func grow(_ need: Int) {
        let newCapacity = max(need, 2 * capacity)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = grown
        capacity = newCapacity
    }

    @inline(__always)
    private func byte(_ b: UInt8) {
        reserve(1)
        buffer[count] = b
        count += 1
    }

    @inline(__always)
    private func bytes(_ p: UnsafeBufferPointer<UInt8>) {
        guard let base = p.baseAddress, p.count > 0 else { return }
        reserve(p.count)
        (buffer + count).update(from: base, count: p.count)
        count += p.count
    }

    private func literal(_ s: StaticString) {
        bytes(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private func text(_ s: String) {
        var s = s
        s.withUTF8 { bytes($0) }
    }

    private func newline(indent: Int) {
        reserve(1 + 2 * indent)
        buffer[count] = 0x0A
        (buffer + count + 1).initialize(repeating: 0x20, count: 2 * indent)
        count += 1 + 2 * indent
    }

    private func flushIfFull() {
        if count >= chunk { flush() }
    }

    func write(_ value: JSONValue, pretty: Bool, indent: Int) {
        switch value {
        case .null: literal("null")
        case .bool(let b): if b { literal("true") } else { literal("false") }
        case .int(let i): integer(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let items):
            if items.isEmpty { literal("[]"); return }
            byte(0x5B)
            var first = true
            for v in items {
                if !first { byte(0x2C) }
                first = false
                if pretty { newline(indent: indent + 1) }
                write(v, pretty: pretty, indent: indent + 1)
                flushIfFull()
            }
            if pretty { newline(indent: indent) }
            byte(0x5D)
        case .object(let pairs):
            if pairs.isEmpty { literal("{}"); return }
            byte(0x7B)
            var first = true
            for (k, v) in pairs {
                if !first { byte(0x2C) }
                first = false
                if pretty { newline(indent: indent + 1) }
                string(k)
                if pretty { literal(": ") } else { byte(0x3A) }
                write(v, pretty: pretty, indent: indent + 1)
                flushIfFull()
            }
            if pretty { newline(indent: indent) }
            byte(0x7D)
        }
    }

    /// Decimal digits of `i`, as `String(i)`.
    private func integer(_ i: Int64) {
        reserve(20)
        var magnitude = i.magnitude
        if i < 0 { buffer[count] = 0x2D; count += 1 }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)   // 32 bytes of scratch
        let n = withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var k = 0
            repeat {
                scratch[31 - k] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
                k += 1
            } while magnitude != 0
            (buffer + count).update(from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + 32 - k, count: k)
            return k
        }
        count += n
    }

    /// `JSONValue.format(d)`, written without building Strings.
    private func double(_ d: Double) {
        guard d.isFinite else { literal("null"); return }
        if d == d.rounded(), abs(d) < 1e15 {
            integer(Int64(d))
            literal(".0")
            return
        }
        // As String(format6:) then trailing zeros stripped (and "x." made "x.0").
        let negative = d < 0
        let scaled = (abs(d) * 1_000_000).rounded()
        let whole = Int64(scaled / 1_000_000)
        var frac = Int64(scaled) - whole * 1_000_000
        if negative { byte(0x2D) }
        integer(whole)
        byte(0x2E)
        if frac == 0 { byte(0x30); return }
        var width = 6
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        // `frac` now has at most `width` digits: zero-pad on the left to `width`.
        var digits = 1, v = frac
        while v >= 10 { v /= 10; digits += 1 }
        reserve(width)
        for _ in 0..<(width - digits) { buffer[count] = 0x30; count += 1 }
        integer(frac)
    }

    /// A JSON string literal, as `JSONValue.escape`.
    private func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            reserve(u.count + 2)
            buffer[count] = 0x22
            count += 1
            var start = 0
            for i in 0..<u.count {
                let c = u[i]
                guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
                bytes(UnsafeBufferPointer(rebasing: u[start..<i]))
                start = i + 1
                switch c {
                case 0x22: literal("\\\"")
                case 0x5C: literal("\\\\")
                case 0x0A: literal("\\n")
                case 0x0D: literal("\\r")
                case 0x09: literal("\\t")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    reserve(6)
                    literal("\\u00")
                    buffer[count] = hex.utf8Start[Int(c >> 4)]
                    buffer[count + 1] = hex.utf8Start[Int(c & 0xF)]
                    count += 2
                }
            }
            bytes(UnsafeBufferPointer(rebasing: u[start..<u.count]))
            byte(0x22)
        }
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
