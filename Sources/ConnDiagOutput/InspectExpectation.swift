import ConnDiagCore
import ConnDiagInspect

/// A CI assertion on every connection `inspect` matched (LISTEN and TIME_WAIT aside):
/// `keepalive=on|off`, `user-timeout=DURATION`, `keepidle<=DURATION`, `dead-within=DURATION`
/// (a vanished peer is found within it), `mechanism=M` (the predicted mechanism). With no
/// connection matched, every expectation fails: an empty match proves nothing.
public enum InspectExpectation: Equatable, Sendable, CustomStringConvertible {
    case keepalive(Bool)
    case userTimeout(Double)
    case keepIdleAtMost(Double)
    case deadWithin(Double)
    case mechanism(Mechanism)

    public init(parsing text: String) throws {
        func duration(_ v: String) throws -> Double {
            guard let d = DurationText.parse(v) else { throw ConnDiagError.usage("--expect \(text): '\(v)' is not a duration") }
            return d
        }
        if text.hasPrefix("keepidle<=") { self = .keepIdleAtMost(try duration(String(text.dropFirst(10)))); return }
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        switch (parts[0].lowercased(), parts.count > 1 ? parts[1] : nil) {
        case ("keepalive", "on"?): self = .keepalive(true)
        case ("keepalive", "off"?): self = .keepalive(false)
        case ("user-timeout", let v?): self = .userTimeout(try duration(v))
        case ("dead-within", let v?): self = .deadWithin(try duration(v))
        case ("mechanism", let v?):
            guard let m = Mechanism(rawValue: v) else {
                throw ConnDiagError.usage("--expect mechanism=\(v): expected one of \(Mechanism.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self = .mechanism(m)
        default:
            throw ConnDiagError.usage("--expect \(text): expected keepalive=on|off, user-timeout=D, keepidle<=D, dead-within=D or mechanism=M")
        }
    }

    public var description: String {
        switch self {
        case .keepalive(let on): return "keepalive=\(on ? "on" : "off")"
        case .userTimeout(let d): return "user-timeout=\(DurationText.format(d))"
        case .keepIdleAtMost(let d): return "keepidle<=\(DurationText.format(d))"
        case .deadWithin(let d): return "dead-within=\(DurationText.format(d))"
        case .mechanism(let m): return "mechanism=\(m.rawValue)"
        }
    }

    /// Why one connection fails it, nil when it holds.
    func failure(_ c: InspectedConnection) -> String? {
        let o = c.options.options
        func unknown() -> String {
            if case .unknown(let why) = c.options { return "#\(c.index) options \(why)" }
            return "#\(c.index) options unknown"
        }
        switch self {
        case .keepalive(let on):
            guard let o else { return unknown() }
            return o.keepalive == on ? nil : "#\(c.index) keepalive is \(o.keepalive ? "on" : "off")"
        case .userTimeout(let d):
            guard let o else { return unknown() }
            return abs(o.userTimeout - d) < 0.0005 ? nil : "#\(c.index) TCP_USER_TIMEOUT is \(DurationText.format(o.userTimeout))"
        case .keepIdleAtMost(let d):
            guard let o else { return unknown() }
            return Double(o.keepIdle) <= d ? nil : "#\(c.index) KEEPIDLE is \(o.keepIdle)s"
        case .deadWithin(let d):
            switch c.prediction.kind {
            case .after(let s): return s <= d + 1e-9 ? nil : "#\(c.index) a vanished peer is found only after \(DurationText.elapsed(s))"
            case .neverWhileIdle: return "#\(c.index) a vanished peer is never found while idle"
            case .none: return "#\(c.index) no prediction: \(c.prediction.explanation)"
            }
        case .mechanism(let m):
            return c.prediction.mechanism == m ? nil : "#\(c.index) predicted mechanism is \(c.prediction.mechanism.rawValue)"
        }
    }

    public func check(_ result: InspectResult) -> String? {
        let matched = result.connections.filter { $0.socket.state != .listen && $0.socket.state != .timeWait }
        if matched.isEmpty { return "no connection matched" }
        let failures = matched.compactMap(failure)
        if failures.isEmpty { return nil }
        return failures.prefix(3).joined(separator: "; ") + (failures.count > 3 ? " (and \(failures.count - 3) more)" : "")
    }

    public func checked(_ result: InspectResult) -> ExpectationCheck { ExpectationCheck(expect: description, why: check(result)) }
}
