import ConnDiagCore

/// Writes one command's output to standard output in the configured format and decides the
/// exit status. NDJSON lines go out while the engine runs (hook `stream` to its callbacks
/// when `streamsRecords`); the document is written once, whole, by `finish`.
public final class ReportWriter {
    public let configuration: OutputConfiguration
    let documentFormat: DocumentFormat

    public init(_ configuration: OutputConfiguration) {
        self.configuration = configuration
        documentFormat = configuration.format.documentFormat
    }

    /// Whether records are written as they are observed.
    public var streamsRecords: Bool { documentFormat.streamsRecords }

    /// Streams the timeline's events as they are appended, when the format does.
    public func attach(to timeline: Timeline) {
        guard streamsRecords else { return }
        timeline.observer = { [self] event in stream(.event(event)) }
    }

    public func stream(_ record: StreamedRecord) {
        if let line = documentFormat.streamedLine(record) { StandardOutput.write(line) }
    }

    /// Writes the document and returns the exit status.
    @discardableResult
    public func finish(_ document: OutputDocument) -> ExitStatus {
        let report = document.report
        let checks = document.checksOutcome ? configuration.expectations.map { $0.checked(report.outcome) } : document.ownChecks
        documentFormat.write(document, checks: checks, color: configuration.color, to: StandardOutput.write)
        if !report.capture, let note = report.captureNote { StandardOutput.note(note) }
        return ExitPolicy.status(of: document, checks: checks)
    }
}
