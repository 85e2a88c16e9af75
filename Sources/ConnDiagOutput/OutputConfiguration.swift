import Glibc

/// What a command's output options decided: the format, the outcome expectations to check
/// (`--expect`), and whether the table is coloured.
public struct OutputConfiguration: Sendable {
    public var format: OutputFormat
    public var expectations: [OutcomeExpectation]
    public var color: Bool

    /// Colour defaults to: a table on a terminal, unless NO_COLOR is set.
    public init(format: OutputFormat, expectations: [OutcomeExpectation] = [], color: Bool? = nil) {
        self.format = format
        self.expectations = expectations
        self.color = color ?? (format == .table && StandardOutput.isTerminal && getenv("NO_COLOR") == nil)
    }
}
