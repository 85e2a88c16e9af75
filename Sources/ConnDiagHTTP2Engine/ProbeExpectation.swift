import ConnDiagCore

/// `probe --expect` checks: ok, connect<DURATION, tls-days>=N, alpn=h2, serving,
/// rtt<DURATION, survives-hold.
public enum ProbeExpectation: Equatable, Sendable, CustomStringConvertible {
    case ok
    case connectBelow(Double)
    case tlsDaysAtLeast(Double)
    case alpn(String)
    case serving
    case rttBelow(Double)
    case survivesHold

    public init(parsing text: String) throws {
        if text == "ok" { self = .ok; return }
        if text == "serving" { self = .serving; return }
        if text == "survives-hold" { self = .survivesHold; return }
        if text.hasPrefix("connect<"), let d = DurationText.parse(String(text.dropFirst(8))) { self = .connectBelow(d); return }
        if text.hasPrefix("rtt<"), let d = DurationText.parse(String(text.dropFirst(4))) { self = .rttBelow(d); return }
        if text.hasPrefix("tls-days>="), let n = Double(text.dropFirst(10)) { self = .tlsDaysAtLeast(n); return }
        if text.hasPrefix("alpn="), text.count > 5 { self = .alpn(String(text.dropFirst(5))); return }
        throw ConnDiagError.usage("--expect \(text): expected ok, connect<DURATION, tls-days>=N, alpn=PROTO, serving, rtt<DURATION or survives-hold")
    }

    public var description: String {
        switch self {
        case .ok: return "ok"
        case .connectBelow(let d): return "connect<\(DurationText.format(d))"
        case .tlsDaysAtLeast(let n): return "tls-days>=\(DurationText.trimmed(n))"
        case .alpn(let a): return "alpn=\(a)"
        case .serving: return "serving"
        case .rttBelow(let d): return "rtt<\(DurationText.format(d))"
        case .survivesHold: return "survives-hold"
        }
    }

    /// What the check needs the probe to do (so `--expect serving` implies a health check).
    public var needsHold: Bool { self == .survivesHold }
}
