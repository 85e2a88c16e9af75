internal import CTLS
#if canImport(Glibc)
import Glibc
#endif

/// One entry of OpenSSL's per-thread error queue.
struct OpenSSLError {
    var code: UInt
    var library: Int32
    var reason: Int32
    /// The reason text alone ("certificate verify failed"), without the error:0A...: prefix.
    var text: String
}

extension TLSClient {
    /// Empties this thread's OpenSSL error queue, oldest first.
    static func drainErrors() -> [OpenSSLError] {
        var errors: [OpenSSLError] = []
        while errors.count < 64 {
            let code = ERR_get_error()
            if code == 0 { break }
            let text = ERR_reason_error_string(code).map { String(cString: $0) }
                ?? "error \(String(code, radix: 16)) in \(ERR_lib_error_string(code).map { String(cString: $0) } ?? "OpenSSL")"
            errors.append(OpenSSLError(code: code, library: CTLS_errorLibrary(code), reason: CTLS_errorReason(code), text: text))
        }
        ERR_clear_error()
        return errors
    }

    /// An alert's long name ("handshake failure"). OpenSSL 3.0 has no text for several
    /// TLS 1.3 alerts (certificate_required comes back as "unknown").
    static func alertName(_ code: Int32) -> String {
        switch code {
        case 109: return "missing extension"
        case 110: return "unsupported extension"
        case 112: return "unrecognized name"
        case 113: return "bad certificate status response"
        case 115: return "unknown PSK identity"
        case 116: return "certificate required"
        case 120: return "no application protocol"
        default:
            let name = SSL_alert_desc_string_long(code).map { String(cString: $0) } ?? "unknown"
            return name == "unknown" ? "alert \(code)" : name
        }
    }

    /// What the first bytes from the peer are when they are not a TLS record; nil when
    /// they could be one (or nothing arrived).
    static func describeNonTLS(head: [UInt8]) -> String? {
        guard let first = head.first else { return nil }
        // A TLS record: content type 20...24, then version major 3.
        if (20...24).contains(first) && (head.count < 2 || head[1] == 3) { return nil }

        if head.count >= 9 && head[0] == 0 && head[5...8].allSatisfy({ $0 == 0 }) {
            switch head[3] {
            case 0x04: return "the peer sent an HTTP/2 SETTINGS frame (a cleartext HTTP/2 server; connect without TLS)"
            case 0x07: return "the peer sent an HTTP/2 GOAWAY frame (a cleartext HTTP/2 server; connect without TLS)"
            default: break
            }
        }
        let line = head.prefix { $0 != 0x0d && $0 != 0x0a }
        if !line.isEmpty && line.allSatisfy({ (0x20...0x7e).contains($0) }) {
            let text = String(decoding: line, as: UTF8.self)
            let kind = text.hasPrefix("HTTP/") ? " (a plain HTTP server)"
                : text.hasPrefix("SSH-") ? " (an SSH server)" : ""
            return "the peer sent \"\(text)\(line.count == head.count && head.count >= 32 ? "..." : "")\"\(kind)"
        }
        let hex = head.prefix(8).map { byte -> String in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }
        return "the peer sent bytes \(hex.joined(separator: " "))\(head.count > 8 ? " ..." : "") (not a TLS record)"
    }
}

/// "Connection reset by peer (ECONNRESET)".
func errnoText(_ code: Int32) -> String {
    "\(errnoMessage(code)) (\(errnoName(code)))"
}

/// strerror, optionally with a lower-case first letter for use inside a sentence.
func errnoMessage(_ code: Int32, lowercased: Bool = false) -> String {
    let message = strerror(code).map { String(cString: $0) } ?? "error \(code)"
    guard lowercased, let first = message.first, message.dropFirst().first?.isLowercase ?? true else { return message }
    return first.lowercased() + message.dropFirst()
}

func errnoName(_ code: Int32) -> String {
    switch code {
    case ECONNRESET: return "ECONNRESET"
    case EPIPE: return "EPIPE"
    case ETIMEDOUT: return "ETIMEDOUT"
    case ECONNREFUSED: return "ECONNREFUSED"
    case EHOSTUNREACH: return "EHOSTUNREACH"
    case ENETUNREACH: return "ENETUNREACH"
    case ENETDOWN: return "ENETDOWN"
    case ECONNABORTED: return "ECONNABORTED"
    case ENOTCONN: return "ENOTCONN"
    case EBADF: return "EBADF"
    case ENOTSOCK: return "ENOTSOCK"
    case ENOENT: return "ENOENT"
    case EACCES: return "EACCES"
    case EISDIR: return "EISDIR"
    case ENOPROTOOPT: return "ENOPROTOOPT"
    default: return "errno \(code)"
    }
}
