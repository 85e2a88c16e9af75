import Glibc
import SystemPackage

/// A failed system call, with the operation named ("setsockopt(TCP_USER_TIMEOUT)").
public struct SyscallError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var errno: Errno
    public init(_ operation: String, _ errno: Errno) { self.operation = operation; self.errno = errno }
    public var errnoName: String { ErrnoNameBridge.name(errno.rawValue) }
    public var description: String { "\(operation): \(ErrnoNameBridge.message(errno.rawValue)) (\(errnoName))" }
}

import ConnDiagCore
enum ErrnoNameBridge {
    static func name(_ c: Int32) -> String { ErrnoName.name(c) }
    static func message(_ c: Int32) -> String { ErrnoName.message(c) }
}

/// The one funnel for raw syscalls returning -1 on failure: retries EINTR and turns
/// failures into `SyscallError` naming the operation (as swift-nio's System.swift does).
@discardableResult
@inline(__always)
func syscall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r == -1 {
            let e = Glibc.errno
            if e == EINTR { continue }
            throw SyscallError(operation(), Errno(rawValue: e))
        }
        return r
    }
}
