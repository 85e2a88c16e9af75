import ConnDiagCore

/// `--format json`: the whole report as one pretty-printed document, written at the end
/// (also when interrupted), with the checked expectations.
struct JSONFormat: DocumentFormat {
    func write(_ document: OutputDocument, checks: [ExpectationCheck], color: Bool, to sink: (String) -> Void) {
        // In pieces: an analyze report of a large capture is many megabytes.
        document.report.json(includeEvents: document.includesEvents).appending(checks).serialize(pretty: true, to: sink)
        sink("\n")
    }
}
