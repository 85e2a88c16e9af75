/// The 5-byte header of a TLS record: content type, legacy version, length (RFC 8446 §5.1).
public struct TLSRecordHeader: Sendable, Equatable {
    public static let size = 5
    /// The largest length a record may declare: 2^14 bytes of plaintext plus 2048 of
    /// expansion (RFC 5246 §6.2.3; TLS 1.3 allows only 256).
    public static let maxLength = (1 << 14) + 2048

    public var type: TLSContentType
    public var version: TLSProtocolVersion
    public var length: Int

    public init(type: TLSContentType, version: TLSProtocolVersion, length: Int) {
        self.type = type; self.version = version; self.length = length
    }

    /// Reads a header at the start of `p` (which must hold at least 5 bytes).
    public init(_ p: UnsafeRawBufferPointer) {
        type = TLSContentType(p[0])
        version = TLSProtocolVersion(UInt16(p[1]) << 8 | UInt16(p[2]))
        length = Int(p[3]) << 8 | Int(p[4])
    }

    /// Why this header cannot start a TLS record, or nil when it can: a known content type,
    /// an SSL 3.0-TLS 1.3 version and a length within the limit (empty only for application
    /// data, which TLS 1.0-1.2 may send empty).
    public var invalidReason: String? {
        if !type.isKnown { return "content type \(type.rawValue) is not 20-24" }
        if !version.isRecordVersion { return "record version 0x\(String(version.rawValue, radix: 16)) is not SSL 3.0-TLS 1.3" }
        if length > TLSRecordHeader.maxLength { return "record length \(length) exceeds \(TLSRecordHeader.maxLength)" }
        if length == 0 && type != .applicationData { return "an empty \(type.name) record" }
        return nil
    }
}
