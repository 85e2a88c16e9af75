import ConnDiagCore

/// One output format: what it writes while the engine runs, and the document at the end.
protocol DocumentFormat {
    /// The line for a record observed during the run, nil when the format writes only at
    /// the end.
    func streamedLine(_ record: StreamedRecord) -> String?

    /// Whether `streamedLine` writes anything (the engines' callbacks are hooked only then).
    var streamsRecords: Bool { get }

    /// Writes the finished document, with the outcome expectations as checked, in pieces.
    func write(_ document: OutputDocument, checks: [ExpectationCheck], color: Bool, to sink: (String) -> Void)
}

extension DocumentFormat {
    func streamedLine(_ record: StreamedRecord) -> String? { nil }
    var streamsRecords: Bool { false }
}
