/// A TLS protocol version as carried on the wire (0x0303 = TLS 1.2), in record headers,
/// hellos and the supported_versions extension.
public struct TLSProtocolVersion: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let ssl3 = TLSProtocolVersion(0x0300)
    public static let tls10 = TLSProtocolVersion(0x0301)
    public static let tls11 = TLSProtocolVersion(0x0302)
    public static let tls12 = TLSProtocolVersion(0x0303)
    public static let tls13 = TLSProtocolVersion(0x0304)

    /// SSL 3.0 to TLS 1.3: what a record header may say.
    public var isRecordVersion: Bool { rawValue >= 0x0300 && rawValue <= 0x0304 }

    /// GREASE values (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa) mean nothing and are skipped.
    public var isGREASE: Bool { rawValue & 0x0f0f == 0x0a0a && rawValue >> 8 == rawValue & 0xff }

    /// "TLS 1.2"; a draft of TLS 1.3 (0x7fXX) as "TLS 1.3 draft N"; others in hex.
    public var name: String {
        switch rawValue {
        case 0x0002: return "SSL 2.0"
        case 0x0300: return "SSL 3.0"
        case 0x0301: return "TLS 1.0"
        case 0x0302: return "TLS 1.1"
        case 0x0303: return "TLS 1.2"
        case 0x0304: return "TLS 1.3"
        default:
            if rawValue >> 8 == 0x7f { return "TLS 1.3 draft \(rawValue & 0xff)" }
            return "0x" + String(rawValue, radix: 16, uppercase: false).leftPadded(4)
        }
    }

    public var description: String { name }
}

extension String {
    /// Left-pads with zeros to `width` characters (hex codes).
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
