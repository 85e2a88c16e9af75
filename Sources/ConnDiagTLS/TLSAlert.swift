/// A TLS alert as sent in a plaintext alert record (RFC 8446 §6, RFC 5246 §7.2): level and
/// description. Open: an unknown description prints as its number.
public struct TLSAlert: Hashable, Sendable {
    public struct Level: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let warning = Level(rawValue: 1)
        public static let fatal = Level(rawValue: 2)
        public var name: String { rawValue == 1 ? "warning" : rawValue == 2 ? "fatal" : "level \(rawValue)" }
    }

    public var level: Level
    /// The AlertDescription code (RFC 8446 calls the field `description`).
    public var code: UInt8

    public init(level: Level, code: UInt8) { self.level = level; self.code = code }

    /// The two bytes of an alert record's payload; nil when it is not exactly two bytes.
    public init?(_ payload: UnsafeRawBufferPointer) {
        guard payload.count == 2 else { return nil }
        level = Level(rawValue: payload[0])
        code = payload[1]
    }

    public static let closeNotify: UInt8 = 0
    public static let userCanceled: UInt8 = 90

    /// Whether the alert ends the connection: level fatal, or in TLS 1.3 any alert but
    /// close_notify and user_canceled (RFC 8446 §6.2: the level is ignored there).
    public func isFatal(tls13: Bool) -> Bool {
        level == .fatal || (tls13 && code != Self.closeNotify && code != Self.userCanceled)
    }

    /// The RFC name ("handshake_failure"), or "alert N".
    public var name: String { Self.names[code] ?? "alert \(code)" }

    private static let names: [UInt8: String] = [
        0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed", 22: "record_overflow",
        30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
        43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
        47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error", 51: "decrypt_error",
        60: "export_restriction", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
        86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
        110: "unsupported_extension", 111: "certificate_unobtainable", 112: "unrecognized_name",
        113: "bad_certificate_status_response", 114: "bad_certificate_hash_value", 115: "unknown_psk_identity",
        116: "certificate_required", 120: "no_application_protocol",
    ]

    /// What the alert usually means, for a person reading the verdict.
    public var meaning: String? {
        switch code {
        case 0: return "an orderly TLS close"
        case 20: return "a record failed its integrity check (damage on the path, or a middlebox rewriting bytes)"
        case 40: return "no common parameters (versions, cipher suites, groups), or a required client certificate was missing"
        case 42: return "a certificate was rejected"
        case 45: return "a certificate has expired"
        case 46: return "a certificate could not be verified"
        case 48: return "the certificate's issuer is not trusted (unknown CA)"
        case 70: return "no TLS version in common"
        case 71: return "the offered cipher suites are too weak for the peer"
        case 112: return "the server does not know the SNI name"
        case 116: return "the server requires a client certificate and none was sent"
        case 120: return "no ALPN protocol in common"
        default: return nil
        }
    }
}
