import ConnDiagCore

/// Why a byte transport cannot go on. A socket errno (ECONNRESET is the peer's RST) is kept
/// apart from a TLS failure, so that a TLS alert is never reported as "the peer reset".
public enum TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A fatal TLS alert, by its long name ("bad record mac").
    public enum AlertOrigin: String, Hashable, Sendable {
        /// The peer sent it.
        case received
        /// This side sent it, having found the peer's records broken.
        case sent
    }

    /// The socket call failed.
    case socket(SyscallError)
    case tlsAlert(AlertOrigin, description: String)
    /// Another TLS failure (a protocol error without an alert), in one line.
    case tls(String)

    /// The errno when the socket failed; nil for TLS failures.
    public var errno: Int32? {
        if case .socket(let e) = self { return e.errno.rawValue }
        return nil
    }

    /// "connection reset by peer (ECONNRESET)", "TLS alert received: bad record mac".
    public var description: String {
        switch self {
        case .socket(let e): return "\(ErrnoName.message(e.errno.rawValue).lowercasedFirst) (\(e.errnoName))"
        case .tlsAlert(let origin, let description): return "TLS alert \(origin.rawValue): \(description)"
        case .tls(let reason): return "TLS: \(reason)"
        }
    }
}

private extension String {
    var lowercasedFirst: String {
        guard let first, dropFirst().first?.isLowercase ?? true else { return self }
        return first.lowercased() + dropFirst()
    }
}

extension TransportError {
    /// The socket call's error, when the socket failed.
    public var socketError: SyscallError? {
        if case .socket(let e) = self { return e }
        return nil
    }
}
