/// Process exit codes (documented in the man page).
public enum ExitStatus: Int32, Sendable {
    /// The run completed and every --expect held (or, with none, the target was healthy).
    case ok = 0
    /// A failure was observed, or an --expect did not hold.
    case failureObserved = 1
    /// Bad usage: wrong flags, unparsable target, unknown host.
    case usage = 2
    /// The environment refused something: no capture permission where required, no netns rights.
    case environment = 3
    /// Bad input data, e.g. a malformed capture file.
    case badInput = 4
}

/// An error that ends a command with a one-line message and a documented exit code.
public struct ConnDiagError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitStatus: ExitStatus
    public init(_ message: String, exit: ExitStatus) { self.message = message; self.exitStatus = exit }
    public var description: String { message }
    public static func usage(_ m: String) -> ConnDiagError { ConnDiagError(m, exit: .usage) }
    public static func environment(_ m: String) -> ConnDiagError { ConnDiagError(m, exit: .environment) }
    public static func badInput(_ m: String) -> ConnDiagError { ConnDiagError(m, exit: .badInput) }
}
