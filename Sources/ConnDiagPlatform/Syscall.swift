import Glibc
import SystemPackage

/// The one funnel for raw system calls that return -1 and set errno (as swift-nio's
/// System.swift and swift-system's Util.swift do): EINTR is retried unless the caller wants
/// to see it, EAGAIN comes back as `.wouldBlock`, and every failure names its operation.
public enum Syscall {
    @inline(__always)
    public static func result<T: FixedWidthInteger>(_ operation: @autoclosure () -> String,
                                                    retryingInterrupts: Bool = true,
                                                    _ body: () -> T) -> SyscallResult<T> {
        while true {
            let r = body()
            if r != -1 { return .value(r) }
            let e = Glibc.errno
            switch e {
            case EINTR:
                if retryingInterrupts { continue }
                return .interrupted
            case EAGAIN, EWOULDBLOCK:
                return .wouldBlock
            default:
                return .error(SyscallError(operation(), Errno(rawValue: e)))
            }
        }
    }

    /// For calls whose errno is returned rather than set (posix_spawn, pthread_*): 0 or an errno.
    public static func returningErrno(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws {
        let rc = body()
        if rc != 0 { throw SyscallError(operation(), Errno(rawValue: rc)) }
    }

    // MARK: - The calls conndiag makes outside sockets

    /// read(2) into `buffer`; 0 is end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer,
                            retryingInterrupts: Bool = true) -> SyscallResult<Int> {
        result("read", retryingInterrupts: retryingInterrupts) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// write(2) of `bytes`; may write fewer.
    public static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> SyscallResult<Int> {
        result("write") { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// Writes all of `bytes`, retrying short writes and interrupts. Stops at the first error
    /// (a reader that went away: EPIPE) and returns it.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> SyscallError? {
        var offset = 0
        while offset < bytes.count {
            switch write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .value(let n) where n > 0: offset += n
            case .value, .wouldBlock, .interrupted: return SyscallError("write", .resourceTemporarilyUnavailable)
            case .error(let e): return e
            }
        }
        return nil
    }

    /// Reads `fd` until end of file, would-block or an error (at most `limit` bytes) and
    /// returns what arrived.
    public static func readAvailable(_ fd: Int32, limit: Int = .max) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            guard case .value(let n) = chunk.withUnsafeMutableBytes({ read(fd, into: $0) }), n > 0 else { break }
            out += chunk[..<min(n, limit - out.count)]
        }
        return out
    }

    /// Reads `fd` to end of file (standard input given as a file of targets): a blocking
    /// descriptor reads until read(2) returns 0; a non-blocking one (a terminal shared with
    /// a shell that set O_NONBLOCK) waits in poll(2) when it has nothing yet. Interrupts are
    /// retried; the first other error is returned.
    public static func readToEnd(_ fd: Int32) -> SyscallResult<[UInt8]> {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            switch chunk.withUnsafeMutableBytes({ read(fd, into: $0) }) {
            case .value(0): return .value(out)
            case .value(let n): out += chunk[..<n]
            case .wouldBlock:
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
                if case .error(let e) = poll(&fds, timeoutMs: -1) { return .error(e) }
            case .interrupted: continue
            case .error(let e): return .error(e)
            }
        }
    }

    /// waitpid(2) for one child, retrying interrupts; the raw status.
    public static func waitForExit(_ pid: pid_t) -> SyscallResult<Int32> {
        var status: Int32 = 0
        switch result("waitpid(\(pid))", { waitpid(pid, &status, 0) }) {
        case .value: return .value(status)
        case .wouldBlock: return .wouldBlock
        case .interrupted: return .interrupted
        case .error(let e): return .error(e)
        }
    }

    /// poll(2) once. An interrupt is a wake-up with nothing ready (`.interrupted`): the
    /// caller looks at what interrupted it before polling again.
    public static func poll(_ fds: inout [pollfd], timeoutMs: Int32) -> SyscallResult<Int32> {
        let count = nfds_t(fds.count)
        return fds.withUnsafeMutableBufferPointer { p in
            result("poll", retryingInterrupts: false) { Glibc.poll(p.baseAddress, count, timeoutMs) }
        }
    }
}

/// The throwing form of the funnel for calls that must succeed (socket, bind, setsockopt):
/// retries EINTR and throws `SyscallError` naming the operation, EAGAIN included.
@discardableResult
@inline(__always)
public func syscall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
    try Syscall.result(operation(), body).get(operation())
}
