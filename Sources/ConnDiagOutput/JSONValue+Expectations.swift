import ConnDiagCore

extension JSONValue {
    /// The object with the checked expectations appended as `expectations` (only when any
    /// were given).
    func appending(_ checks: [ExpectationCheck]) -> JSONValue {
        guard !checks.isEmpty, case .object(var pairs) = self else { return self }
        pairs.append(("expectations", .array(checks.map(\.json))))
        return .object(pairs)
    }
}
