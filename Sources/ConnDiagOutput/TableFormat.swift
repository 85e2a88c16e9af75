import ConnDiagCore

/// `--format table`: each command's table, then a `FAILED expect ...` line for each outcome
/// expectation that did not hold.
struct TableFormat: DocumentFormat {
    func write(_ document: OutputDocument, checks: [ExpectationCheck], color: Bool, to sink: (String) -> Void) {
        let report = document.report
        switch document.content {
        case .run:
            sink(EventTableRenderer(color: color).render(report))
        case .analyze(let result, let timelines):
            sink(AnalyzeTableRenderer(color: color, timelines: timelines).render(result))
        case .probe(let results):
            sink(ProbeTableRenderer(color: color).render(results, summary: report.outcome.summary, interrupted: report.interrupted))
        case .lab(let rows, let quick):
            sink(LabMatrixRenderer.render(rows, summary: report.outcome.summary, quick: quick))
        case .inspect(let result, _):
            sink(InspectTableRenderer(color: color).render(result, events: report.allEvents))
        }
        for failure in checks.compactMap(\.failureText) { sink("FAILED \(failure)\n") }
    }
}
