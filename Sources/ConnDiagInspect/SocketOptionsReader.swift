import Glibc
import CNetShims
import ConnDiagCore
import ConnDiagPlatform

/// Reads another process's socket options: pidfd_open + pidfd_getfd give a duplicate of its
/// descriptor (needs ptrace rights over the process), getsockopt reads it, and the duplicate
/// is closed at once. Nothing is ever set on it.
public final class SocketOptionsReader {
    public let pid: Int32
    let pidfd: Int32?
    /// Why nothing can be read (every socket of the process), nil when the pidfd opened.
    public let unavailable: String?

    public init(pid: Int32) {
        self.pid = pid
        switch Syscall.result("pidfd_open", { CNetShims_pidfdOpen(pid) }) {
        case .value(let fd): pidfd = fd; unavailable = nil
        case .error(let e) where e.errno.rawValue == ENOSYS: pidfd = nil; unavailable = "unknown (pidfd_open needs Linux 5.3)"
        case .error(let e) where e.errno.rawValue == ESRCH: pidfd = nil; unavailable = "unknown (process \(pid) has exited)"
        case .error(let e): pidfd = nil; unavailable = "unknown (pidfd_open: \(ErrnoName.message(e.errno.rawValue)))"
        case .wouldBlock, .interrupted: pidfd = nil; unavailable = "unknown (pidfd_open failed)"
        }
    }

    deinit { if let pidfd { close(pidfd) } }

    /// The options on the process's descriptor `fd`.
    public func read(fd: Int32) -> OptionsReading {
        guard let pidfd else { return .unknown(unavailable ?? "unknown") }
        let copy: Int32
        switch Syscall.result("pidfd_getfd", { CNetShims_pidfdGetfd(pidfd, fd) }) {
        case .value(let c): copy = c
        case .error(let e):
            switch e.errno.rawValue {
            case EPERM: return .unknown("unknown (no ptrace rights)")
            case ENOSYS: return .unknown("unknown (pidfd_getfd needs Linux 5.6)")
            case ESRCH: return .unknown("unknown (process \(pid) has exited)")
            case EBADF: return .unknown("unknown (descriptor \(fd) was closed)")
            default: return .unknown("unknown (pidfd_getfd: \(ErrnoName.message(e.errno.rawValue)))")
            }
        case .wouldBlock, .interrupted: return .unknown("unknown (pidfd_getfd failed)")
        }
        defer { close(copy) }
        func int(_ level: Int32, _ name: Int32) -> Int? {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(copy, level, name, &value, &length) == 0 ? Int(value) : nil
        }
        let tcp = Int32(IPPROTO_TCP)
        guard let keepalive = int(SOL_SOCKET, SO_KEEPALIVE), let idle = int(tcp, TCP_KEEPIDLE),
              let interval = int(tcp, TCP_KEEPINTVL), let count = int(tcp, TCP_KEEPCNT) else {
            return .unknown("unknown (getsockopt: \(ErrnoName.message(errno)))")
        }
        var name = [CChar](repeating: 0, count: 17)
        let congestion = CNetShims_tcpCongestion(copy, &name, Int32(name.count)) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return .read(ApplicationOptions(
            keepalive: keepalive != 0, keepIdle: idle, keepInterval: interval, keepCount: count,
            userTimeoutMs: int(tcp, TCP_USER_TIMEOUT) ?? 0, synCount: int(tcp, TCP_SYNCNT) ?? 0,
            noDelay: (int(tcp, TCP_NODELAY) ?? 0) != 0, sendBuffer: int(SOL_SOCKET, SO_SNDBUF) ?? 0,
            receiveBuffer: int(SOL_SOCKET, SO_RCVBUF) ?? 0, congestion: congestion))
    }
}
