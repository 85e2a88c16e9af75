/// A TLS record's content type (RFC 8446 §5.1, RFC 5246 §6.2.1).
///
/// An open set: a type this table does not know still prints as its number.
public struct TLSContentType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let changeCipherSpec = TLSContentType(20)
    public static let alert = TLSContentType(21)
    public static let handshake = TLSContentType(22)
    public static let applicationData = TLSContentType(23)
    public static let heartbeat = TLSContentType(24)

    /// The types a record may carry (20-24); anything else means the bytes are not TLS.
    public var isKnown: Bool { rawValue >= 20 && rawValue <= 24 }

    public var name: String {
        switch rawValue {
        case 20: return "change_cipher_spec"
        case 21: return "alert"
        case 22: return "handshake"
        case 23: return "application_data"
        case 24: return "heartbeat"
        default: return "content type \(rawValue)"
        }
    }

    public var description: String { name }
}
