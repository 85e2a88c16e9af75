import ConnDiagCore

/// `probe --expect` checks: ok, connect<DURATION, tls-days>=N, alpn=h2, serving,
/// rtt<DURATION, survives-hold. The engine checks them on each target (a target is healthy
/// only when they hold); their grammar is ConnDiagOutput's, with the outcome expectations.
public enum ProbeExpectation: Equatable, Sendable, CustomStringConvertible {
    case ok
    case connectBelow(Double)
    case tlsDaysAtLeast(Double)
    case alpn(String)
    case serving
    case rttBelow(Double)
    case survivesHold

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
