/// One thing worth a person's attention that a diagnoser found, with its time.
public struct DiagnosisFinding: Sendable, Equatable {
    public enum Severity: String, Sendable {
        case critical, warning, notice, info
    }

    public var severity: Severity
    /// e.g. "h2-ping-timeout", "goaway-grace-expired", "flow-control-stall".
    public var kind: String
    public var t: Double?
    public var summary: String

    public init(severity: Severity, kind: String, t: Double?, summary: String) {
        self.severity = severity
        self.kind = kind
        self.t = t
        self.summary = summary
    }
}
