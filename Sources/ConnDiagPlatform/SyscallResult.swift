import SystemPackage

/// What one system call through the funnel came to. Would-block is a value, not an error:
/// non-blocking descriptors return it as a matter of course.
public enum SyscallResult<Value> {
    case value(Value)
    /// EAGAIN/EWOULDBLOCK.
    case wouldBlock
    /// EINTR, only when the caller asked to see interrupts rather than retry them.
    case interrupted
    case error(SyscallError)

    /// The value, throwing an error for anything else (would-block as EAGAIN, an interrupt as EINTR).
    public func get(_ operation: @autoclosure () -> String) throws -> Value {
        switch self {
        case .value(let v): return v
        case .wouldBlock: throw SyscallError(operation(), .resourceTemporarilyUnavailable)
        case .interrupted: throw SyscallError(operation(), .interrupted)
        case .error(let e): throw e
        }
    }
}
