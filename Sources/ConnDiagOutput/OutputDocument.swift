import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagInspect
import ConnDiagScenarios

/// What a command hands to its writer at the end: the report of the JSON contract and the
/// typed results its table is drawn from.
public struct OutputDocument {
    public enum Content {
        /// A live run (syn-timeout, keepalive-test, goaway-trace): attempts, events, verdicts.
        case run
        case analyze(AnalyzeResult, timelines: Bool)
        case probe([ProbeResult])
        case lab([ScenarioRow], quick: Bool)
        /// `inspect`: a process's connections, checked against its own --expect grammar.
        case inspect(InspectResult, expectations: [InspectExpectation])
    }

    public var report: Report
    public var content: Content

    public static func run(_ report: Report) -> OutputDocument { OutputDocument(report: report, content: .run) }

    /// `timelines`: the table prints each connection's events before the summary.
    public static func analyze(_ result: AnalyzeResult, report: Report, timelines: Bool) -> OutputDocument {
        OutputDocument(report: report, content: .analyze(result, timelines: timelines))
    }

    public static func probe(_ results: [ProbeResult], report: Report) -> OutputDocument {
        OutputDocument(report: report, content: .probe(results))
    }

    public static func lab(_ rows: [ScenarioRow], report: Report, quick: Bool) -> OutputDocument {
        OutputDocument(report: report, content: .lab(rows, quick: quick))
    }

    public static func inspect(_ result: InspectResult, report: Report, expectations: [InspectExpectation]) -> OutputDocument {
        OutputDocument(report: report, content: .inspect(result, expectations: expectations))
    }

    /// The checks a document makes itself (inspect's expectations on every connection).
    var ownChecks: [ExpectationCheck] {
        if case .inspect(let result, let expectations) = content { return expectations.map { $0.checked(result) } }
        return []
    }

    /// Whether `--expect` applies to the report's outcome. A probe checks its own
    /// expectations on each target; the lab matrix checks each scenario against its model.
    var checksOutcome: Bool {
        switch content {
        case .run, .analyze: return true
        case .probe, .lab, .inspect: return false
        }
    }

    /// Whether the JSON document has an `events` array (empty for `analyze`, whose events
    /// are per connection); probe and lab documents have none.
    var includesEvents: Bool {
        switch content {
        case .run, .analyze, .inspect: return true
        case .probe, .lab: return false
        }
    }

    /// The section NDJSON has already written record by record, left out of its summary.
    /// `analyze` keeps its connections in the summary too.
    var streamedSection: String? {
        switch content {
        case .probe: return "targets"
        case .lab: return "scenarios"
        case .run, .analyze, .inspect: return nil
        }
    }

    /// A capture file `analyze` could not read to its end (exit 4 after the report).
    var damagedInput: Bool {
        if case .analyze(let result, _) = content { return result.damaged }
        return false
    }
}
