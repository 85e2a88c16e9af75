import ConnDiagCore

/// The exit status of every command that wrote a report: 0 when the run completed and every
/// `--expect` held (with none, when the outcome is healthy), 1 when a failure was observed,
/// an expectation did not hold or the run was interrupted, 4 when the input was damaged.
enum ExitPolicy {
    static func status(of document: OutputDocument, checks: [ExpectationCheck]) -> ExitStatus {
        if document.damagedInput { return .badInput }
        var healthy = document.report.outcome.isHealthy
        let interrupted = document.report.interrupted
        if case .analyze(let result, _) = document.content {
            // A capture is judged by its findings, as `analyze --help` says: a warning or worse
            // is a failure even on a connection that is still open at the end (a zero window).
            healthy = !result.findings.contains { $0.severity >= .warning }
        }
        if case .inspect(let result, _) = document.content {
            // Judged like analyze: a warning finding, or a connection that died while followed.
            healthy = !result.findings.contains { $0.severity >= .warning }
                && !(result.follow?.deaths.contains { $0.status != .closed } ?? false)
        }
        if !checks.isEmpty { return checks.allSatisfy(\.held) && !interrupted ? .ok : .failureObserved }
        return healthy && !interrupted ? .ok : .failureObserved
    }
}
