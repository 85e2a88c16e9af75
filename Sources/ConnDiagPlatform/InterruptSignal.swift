import Glibc
import CNetShims

/// SIGINT/SIGTERM turned into readability of a pipe that every engine loop polls, so an
/// interrupted run stops at a safe point and still writes its report.
public final class InterruptSignal: InterruptSource {
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
