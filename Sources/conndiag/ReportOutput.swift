import ArgumentParser
import ConnDiagCore
import Foundation
import Glibc

/// Prints a report in the chosen format and decides the exit code. NDJSON streams events
/// while the engine runs; JSON is written once, whole, at the end (also when interrupted).
final class ReportOutput {
    let format: OutputFormat
    let expectations: [Expectation]
    let color: Bool

    init(_ options: OutputOptions) {
        format = options.resolvedFormat
        expectations = options.expectations
        color = format == .table && isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    /// Connects NDJSON streaming to a timeline.
    func attach(to timeline: Timeline) {
        guard format == .ndjson else { return }
        timeline.observer = { event in
            var line = event.json
            if case .object(var pairs) = line { pairs.insert(("type", .string("event")), at: 0); line = .object(pairs) }
            ReportOutput.write(line.serialized() + "\n")
        }
    }

    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            var offset = 0
            let total = buf.count
            while offset < total {
                let n = Glibc.write(STDOUT_FILENO, buf.baseAddress! + offset, total - offset)
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    /// Writes the report and returns the exit status.
    @discardableResult
    func finish(_ report: Report) -> ExitStatus {
        let failures = expectations.compactMap { e in e.check(report.outcome).map { "expect \(e): \($0)" } }
        var extras: [(String, JSONValue)] = []
        if !expectations.isEmpty {
            extras.append(("expectations", .array(expectations.map { e in
                let why = e.check(report.outcome)
                return .object([("expect", .string(e.description)), ("held", .bool(why == nil))] + (why.map { [("why", .string($0))] } ?? []))
            })))
        }
        switch format {
        case .table:
            var text = TableRenderer(color: color).render(report)
            for f in failures { text += "FAILED \(f)\n" }
            ReportOutput.write(text)
        case .json:
            var doc = report.json()
            if case .object(var pairs) = doc { pairs.append(contentsOf: extras); doc = .object(pairs) }
            doc.serialize(pretty: true) { ReportOutput.write($0) }
            ReportOutput.write("\n")
        case .ndjson:
            var doc = report.json(includeEvents: false)
            if case .object(var pairs) = doc { pairs.insert(("type", .string("summary")), at: 0); pairs.append(contentsOf: extras); doc = .object(pairs) }
            ReportOutput.write(doc.serialized() + "\n")
        }
        if !report.capture, let note = report.captureNote {
            FileHandle.standardError.write(Data("conndiag: \(note)\n".utf8))
        }
        if !expectations.isEmpty { return failures.isEmpty && !report.interrupted ? .ok : .failureObserved }
        return report.outcome.isHealthy && !report.interrupted ? .ok : .failureObserved
    }
}
