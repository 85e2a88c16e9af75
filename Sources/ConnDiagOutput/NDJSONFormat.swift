import ConnDiagCore

/// `--format ndjson`: one line per record as it happens (`"type"` says which kind), then a
/// `summary` line: the report without its events and without the section already streamed.
struct NDJSONFormat: DocumentFormat {
    var streamsRecords: Bool { true }

    func streamedLine(_ record: StreamedRecord) -> String? { line(type: record.type, record.json) }

    func write(_ document: OutputDocument, checks: [ExpectationCheck], color: Bool, to sink: (String) -> Void) {
        var summary = document.report.json(includeEvents: false)
        if let section = document.streamedSection, case .object(var pairs) = summary {
            pairs.removeAll { $0.0 == section }
            summary = .object(pairs)
        }
        sink(line(type: "summary", summary.appending(checks)))
    }

    /// The one place a line gets its `type`, as the first key.
    func line(type: String, _ value: JSONValue) -> String {
        var value = value
        if case .object(var pairs) = value {
            pairs.insert(("type", .string(type)), at: 0)
            value = .object(pairs)
        }
        return value.serialized() + "\n"
    }
}
