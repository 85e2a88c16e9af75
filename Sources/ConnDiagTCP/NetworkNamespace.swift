import Glibc
import CNetShims
import ConnDiagCore
import SystemPackage

/// Runs code with the calling thread inside a named network namespace (/var/run/netns/NAME,
/// as `ip netns add` makes). Sockets and captures opened inside stay in that namespace after
/// the thread returns, so an engine can open them there and use them from anywhere.
/// setns(CLONE_NEWNET) is per thread: the body must not hop threads (no `await` inside).
public enum NetworkNamespace {
    public static func run<T>(_ name: String?, _ body: () throws -> T) throws -> T {
        guard let name else { return try body() }
        let target = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            throw ConnDiagError.environment("network namespace '\(name)': \(ErrnoName.message(errno))")
        }
        defer { close(target) }
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw ConnDiagError.environment("cannot open /proc/thread-self/ns/net: \(ErrnoName.message(errno))") }
        defer { close(original) }
        guard CNetShims_setNetNamespace(target) == 0 else {
            throw ConnDiagError.environment("cannot enter network namespace '\(name)' (needs CAP_SYS_ADMIN): \(ErrnoName.message(errno))")
        }
        defer {
            // Returning must not fail: a thread left in the lab namespace would send later
            // traffic to the wrong place.
            if CNetShims_setNetNamespace(original) != 0 { fatalError("cannot return to the original network namespace") }
        }
        return try body()
    }
}

/// SIGINT/SIGTERM turned into readability of a pipe that every engine loop polls, so an
/// interrupted run stops at a safe point and still writes its report.
public final class InterruptSignal {
    public static let shared = InterruptSignal()
    public private(set) var readFD: Int32 = -1
    private var writeFD: Int32 = -1

    private init() {}

    /// Installs the handlers (idempotent). `restartingSyscalls: false` makes a blocking read
    /// return EINTR on an interrupt (for readers that block on a pipe rather than poll).
    public func install(restartingSyscalls: Bool = true) {
        guard readFD < 0 else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]; writeFD = fds[1]
        CNetShims_routeSignalsToPipeRestarting(writeFD, restartingSyscalls ? 1 : 0)
    }

    /// True once SIGINT or SIGTERM arrived.
    public var isRaised: Bool { CNetShims_lastSignal() != 0 }
    public var signalNumber: Int32 { CNetShims_lastSignal() }
}
