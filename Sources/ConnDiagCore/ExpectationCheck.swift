/// One `--expect` as it was checked: the expectation as the user wrote it (canonical form)
/// and, when it did not hold, why. The same record for an outcome expectation and a probe
/// target's, so both reach the JSON and the table in one shape.
public struct ExpectationCheck: Sendable, Equatable {
    public var expect: String
    /// nil when it held.
    public var why: String?

    public init(expect: String, why: String?) { self.expect = expect; self.why = why }

    public var held: Bool { why == nil }

    /// `{"expect": ..., "held": ..., "why": ...}` (`why` only when it did not hold).
    public var json: JSONValue {
        .object([("expect", .string(expect)), ("held", .bool(held))] + (why.map { [("why", .string($0))] } ?? []))
    }

    /// "expect EXPECT: WHY", the line a table prints for a failed expectation.
    public var failureText: String? { why.map { "expect \(expect): \($0)" } }
}
