import ConnDiagCore
import SystemPackage

/// A failed system call, with the operation named ("setsockopt(TCP_USER_TIMEOUT)").
public struct SyscallError: Error, CustomStringConvertible, Hashable, Sendable {
    public var operation: String
    public var errno: Errno
    public init(_ operation: String, _ errno: Errno) { self.operation = operation; self.errno = errno }
    public init(_ operation: String, errno: Int32) { self.init(operation, Errno(rawValue: errno)) }
    public var errnoName: String { ErrnoName.name(errno.rawValue) }
    public var description: String { "\(operation): \(ErrnoName.message(errno.rawValue)) (\(errnoName))" }
}
