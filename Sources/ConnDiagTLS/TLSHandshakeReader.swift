/// Joins one direction's handshake records into handshake messages (type, 24-bit length,
/// body): a message may span records and a record may hold several (RFC 8446 §5.1). Bodies
/// are handed over in place when a record holds them whole; only a split message is copied.
/// Fed only plaintext handshake records (before ChangeCipherSpec in TLS 1.2; TLS 1.3's
/// encrypted handshake travels as application data and is not fed here).
public final class TLSHandshakeReader {
    /// A larger message is not read (a certificate chain is a few KiB; 256 KiB is absurd).
    public static let maxMessageLength = 1 << 18

    private var buffer: [UInt8] = []
    public private(set) var stopReason: String?
    public private(set) var messages = 0

    public init() {}

    /// Bytes of a message begun but not complete.
    public var pendingBytes: Int { buffer.count }

    /// Reads `fragment` (one record's payload), calling `each` for every message it completes.
    public func append(_ fragment: UnsafeRawBufferPointer, _ each: (TLSHandshakeType, UnsafeRawBufferPointer) -> Void) {
        guard stopReason == nil else { return }
        if buffer.isEmpty {
            let used = split(fragment, each)
            if stopReason == nil && used < fragment.count { buffer.append(contentsOf: fragment[used...]) }
        } else {
            buffer.append(contentsOf: fragment)
            let joined = buffer
            buffer = []
            joined.withUnsafeBytes { raw in
                let used = split(raw, each)
                if stopReason == nil && used < raw.count { buffer.append(contentsOf: raw[used...]) }
            }
        }
    }

    /// Hands over the whole messages at the start of `p`; returns the bytes they took.
    private func split(_ p: UnsafeRawBufferPointer, _ each: (TLSHandshakeType, UnsafeRawBufferPointer) -> Void) -> Int {
        var off = 0
        while p.count - off >= 4 {
            let length = Int(p[off + 1]) << 16 | Int(p[off + 2]) << 8 | Int(p[off + 3])
            if length > TLSHandshakeReader.maxMessageLength {
                stopReason = "a \(TLSHandshakeType(p[off]).name) message of \(length) bytes (more than \(TLSHandshakeReader.maxMessageLength >> 10) KiB): not read"
                return off
            }
            guard p.count - off - 4 >= length else { break }
            messages += 1
            each(TLSHandshakeType(p[off]), UnsafeRawBufferPointer(rebasing: p[(off + 4)..<(off + 4 + length)]))
            off += 4 + length
        }
        return off
    }
}
