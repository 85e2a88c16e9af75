import Glibc
import ConnDiagPlatform

/// The process's standard output, written with write(2) directly: a signal that interrupts
/// a write (SIGINT while a large report goes out) must not cut the report short.
public enum StandardOutput {
    public static var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// Writes all of `s`, retrying after EINTR; stops quietly when the reader has gone.
    public static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Syscall.writeAll(STDOUT_FILENO, UnsafeRawBufferPointer(buf)) }
    }

    /// Writes all of `s` to standard error, as `write(_:)` does to standard output.
    public static func writeError(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Syscall.writeAll(STDERR_FILENO, UnsafeRawBufferPointer(buf)) }
    }

    /// One line on standard error, prefixed as every conndiag message is.
    public static func note(_ message: String) {
        writeError("conndiag: \(message)\n")
    }
}
