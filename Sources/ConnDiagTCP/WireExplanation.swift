import Glibc
import ConnDiagCore
import ConnDiagDiagnosis

/// The packets that explain how a socket call ended, so that a report waits for them and no
/// longer. The kernel captures a packet before it acts on it (and sends the RST of a keepalive
/// abort before it reports ETIMEDOUT), so they are normally in the capture buffer when the
/// socket reports; only a packet the kernel sends after waking us (our handshake ACK), or a
/// capture that lags, makes the report wait.
public enum WireExplanation: Sendable, Equatable {
    /// Nothing on the wire to wait for: the run stopped by itself, or the errno has no packet.
    case nothing
    /// connect() succeeded: the SYN-ACK and our ACK that completes the handshake.
    case handshake
    /// ECONNREFUSED: the peer's RST, or an ICMP port unreachable.
    case refusal
    /// An ICMP error's errno. When no SYN went out, the local stack refused by itself
    /// (no route) and no ICMP will come.
    case icmpError
    /// connect() ETIMEDOUT: the kernel gave up a timer after the last SYN, which is in already.
    case lastSYN
    /// EOF: the peer's FIN.
    case peerFIN
    /// ECONNRESET or EPIPE: the peer's RST.
    case peerRST
    /// ETIMEDOUT on an established connection: a keepalive (or idle user-timeout) abort sends
    /// an RST; a timeout with unacknowledged data sends none, and its last retransmission,
    /// already seen, is the explanation.
    case kernelAbort

    /// The longest a report waits for a missing explanation (what every engine used to wait).
    public static let defaultWait = 0.15

    /// What explains the result of connect(): 0 for success, else its errno.
    public static func connect(errno: Int32) -> WireExplanation {
        switch errno {
        case 0: return .handshake
        case ECONNREFUSED: return .refusal
        case ETIMEDOUT: return .lastSYN
        case _ where isICMPErrno(errno): return .icmpError
        default: return .nothing
        }
    }

    /// What explains the end of an established connection: EOF, or the errno a read or write
    /// failed with.
    public static func end(errno: Int32?, eof: Bool) -> WireExplanation {
        if eof { return .peerFIN }
        switch errno {
        case nil: return .nothing
        case ECONNRESET?, EPIPE?: return .peerRST
        case ETIMEDOUT?: return .kernelAbort
        case let e? where isICMPErrno(e): return .icmpError
        default: return .nothing
        }
    }

    /// The errnos the kernel derives from ICMP errors (ECONNREFUSED aside): destination
    /// unreachable codes, administratively prohibited, parameter problems.
    static func isICMPErrno(_ e: Int32) -> Bool {
        [ENETUNREACH, EHOSTUNREACH, EHOSTDOWN, ENONET, ENOPROTOOPT, EACCES, EPROTO].contains(e)
    }

    /// Whether the packets that explain the result have been read into `tracker` (side 0 is
    /// our socket, side 1 the peer).
    public func isComplete(in tracker: TCPConnectionTracker) -> Bool {
        let us = tracker.sides[0], peer = tracker.sides[1]
        let icmp = !tracker.icmpErrors.isEmpty
        switch self {
        case .nothing: return true
        case .handshake: return peer.synAckAt != nil && tracker.handshakeACKAt != nil
        case .refusal: return peer.rstAt != nil || icmp
        case .icmpError: return icmp || us.synCount == 0
        case .lastSYN: return us.synCount > 0
        case .peerFIN: return peer.finAt != nil
        case .peerRST: return peer.rstAt != nil
        case .kernelAbort:
            return us.rstAt != nil || (tracker.clientHasUnacknowledgedData && us.retransmissions > 0)
        }
    }
}
