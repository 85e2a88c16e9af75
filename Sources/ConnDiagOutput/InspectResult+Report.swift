import ConnDiagCore
import ConnDiagInspect

extension InspectResult {
    /// The report of the JSON contract: the kernel of the inspected namespace, the follow
    /// events, an outcome (the first death while followed, else what was inspected), and
    /// `pid`, `process`, `namespace`, `connections`, `findings`, `deaths` as extras.
    public func report(timeline: Timeline) -> Report {
        let outcome: Outcome
        let dead = follow?.deaths.filter { $0.status != .closed } ?? []
        if let first = dead.first {
            outcome = Outcome(status: first.status, mechanism: first.mechanism, detectedAt: first.diedAt, predictedAt: first.predictedAt,
                              errno: first.status == .closed ? nil : "ETIMEDOUT",
                              summary: "\(dead.count) of \(connections.count) connections died; #\(first.connection) \(first.summaryText)")
        } else {
            let warnings = findings.filter { $0.severity == .warning }.count
            outcome = Outcome(status: .connected, mechanism: .none,
                              summary: "\(connections.count) connections inspected, \(warnings) warnings"
                                  + (follow.map { " (followed \($0.samples) samples, no connection died)" } ?? ""))
        }
        let attempt = AttemptReport(index: 1, target: TargetInfo(host: "", address: "", port: 0), events: timeline.events,
                                    elision: timeline.elision, outcome: outcome)
        var extras: [(String, JSONValue)] = []
        if case .object(let pairs) = json { extras = pairs }
        return Report(command: "inspect", target: nil, settings: [], kernel: kernel, capture: false,
                      attempts: [attempt], outcome: outcome, interrupted: interrupted, extras: extras)
    }
}
