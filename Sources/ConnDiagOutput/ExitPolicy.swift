import ConnDiagCore

/// The exit status of every command that wrote a report: 0 when the run completed and every
/// `--expect` held (with none, when the outcome is healthy), 1 when a failure was observed,
/// an expectation did not hold or the run was interrupted, 4 when the input was damaged.
enum ExitPolicy {
    static func status(of document: OutputDocument, format: OutputFormat, checks: [ExpectationCheck]) -> ExitStatus {
        if document.damagedInput { return .badInput }
        var healthy = document.report.outcome.isHealthy
        var interrupted = document.report.interrupted
        if case .analyze(let result, _) = document.content, format == .table {
            // The analyze table has always judged by the findings (a warning or worse is a
            // failure, as `analyze --help` says) and let an interrupted read pass; kept so
            // the exit codes stay what they were.
            healthy = !result.findings.contains { $0.severity >= .warning }
            interrupted = false
        }
        if !checks.isEmpty { return checks.allSatisfy(\.held) && !interrupted ? .ok : .failureObserved }
        return healthy && !interrupted ? .ok : .failureObserved
    }
}
