import ConnDiagCore
import ConnDiagHTTP2Engine

extension ProbeExpectation {
    /// Parses one `probe --expect` argument.
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
}
