import ConnDiagCore

/// What a diagnoser concluded: the outcome (status, mechanism, times, wording) and the
/// findings behind it. Commands add their own JSON extras from the typed results.
public struct Diagnosis: Sendable {
    public var outcome: Outcome
    public var findings: [DiagnosisFinding]

    public init(outcome: Outcome, findings: [DiagnosisFinding]) {
        self.outcome = outcome
        self.findings = findings
    }
}

/// "t=1.25 s": how the diagnoses print a time.
func timeText(_ t: Double) -> String { "t=" + DurationText.trimmed(t) + " s" }

func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
