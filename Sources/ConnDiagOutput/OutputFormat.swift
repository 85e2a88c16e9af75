/// How a command writes its report (`--format`). Each case's writing lives in one file
/// (`TableFormat`, `JSONFormat`, `NDJSONFormat`); `documentFormat` picks it.
public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, ndjson

    /// The table on a terminal, JSON when the output goes to a pipe or a file.
    public static var defaultForStandardOutput: OutputFormat { StandardOutput.isTerminal ? .table : .json }

    var documentFormat: DocumentFormat {
        switch self {
        case .table: return TableFormat()
        case .json: return JSONFormat()
        case .ndjson: return NDJSONFormat()
        }
    }
}
