import ConnDiagCore

/// A CI assertion on an outcome (`--expect`): `ok`, `status=refused`, `mechanism=keepalive`,
/// `detected-within=5s`, `survives`.
public enum OutcomeExpectation: Equatable, Sendable, CustomStringConvertible {
    case ok
    case survives
    case status(OutcomeStatus)
    case mechanism(Mechanism)
    case detectedWithin(Double)

    public init(parsing text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let key = parts[0].lowercased()
        let value = parts.count > 1 ? parts[1] : nil
        switch (key, value) {
        case ("ok", nil): self = .ok
        case ("survives", nil): self = .survives
        case ("status", let v?):
            guard let s = OutcomeStatus(rawValue: v) else {
                throw ConnDiagError.usage("--expect status=\(v): expected one of \(OutcomeStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self = .status(s)
        case ("mechanism", let v?):
            guard let m = Mechanism(rawValue: v) else {
                throw ConnDiagError.usage("--expect mechanism=\(v): expected one of \(Mechanism.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self = .mechanism(m)
        case ("detected-within", let v?):
            guard let d = DurationText.parse(v) else { throw ConnDiagError.usage("--expect detected-within=\(v): not a duration") }
            self = .detectedWithin(d)
        default:
            throw ConnDiagError.usage("--expect \(text): expected ok, survives, status=S, mechanism=M or detected-within=DURATION")
        }
    }

    public var description: String {
        switch self {
        case .ok: return "ok"
        case .survives: return "survives"
        case .status(let s): return "status=\(s.rawValue)"
        case .mechanism(let m): return "mechanism=\(m.rawValue)"
        case .detectedWithin(let d): return "detected-within=\(DurationText.format(d))"
        }
    }

    /// nil when it holds, else why not.
    public func check(_ o: Outcome) -> String? {
        switch self {
        case .ok: return o.isHealthy ? nil : "expected ok, got \(o.status.rawValue)"
        case .survives: return o.status == .survived || o.status == .connected ? nil : "expected to survive, got \(o.status.rawValue) (\(o.mechanism.rawValue))"
        case .status(let s): return o.status == s ? nil : "expected status \(s.rawValue), got \(o.status.rawValue)"
        case .mechanism(let m): return o.mechanism == m ? nil : "expected mechanism \(m.rawValue), got \(o.mechanism.rawValue)"
        case .detectedWithin(let d):
            guard let at = o.detectedAt, o.status != .connected, o.status != .survived else { return "expected detection within \(DurationText.format(d)), nothing was detected" }
            return at <= d ? nil : "expected detection within \(DurationText.format(d)), detected at \(DurationText.trimmed(at))s"
        }
    }

    /// The check as the report carries it.
    public func checked(_ o: Outcome) -> ExpectationCheck { ExpectationCheck(expect: description, why: check(o)) }
}
