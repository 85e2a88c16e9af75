/// Opens one direction's protected records under one key, counting the sequence number
/// that every record's nonce (and TLS 1.2's additional data) includes: TLS 1.2 AES-GCM
/// (RFC 5288: salt + the record's explicit nonce), TLS 1.2 ChaCha20-Poly1305 (RFC 7905:
/// iv XOR sequence) and TLS 1.3 (RFC 8446 §5.2-5.3: iv XOR sequence, the header as
/// additional data, the real content type after the content and before zero padding).
public final class TLSRecordDecrypter {
    public enum Result: Equatable {
        /// The plaintext is in the buffer handed in; `type` is the real content type.
        case opened(type: TLSContentType)
        /// The tag did not verify: wrong key, or these are not the records this key protects.
        case authenticationFailed
        /// Too short to hold what this suite puts around a plaintext.
        case malformed(String)
    }

    public let suite: TLSAEADSuite
    private let cipher: TLSAEADCipher
    private let iv: [UInt8]
    /// The next record's sequence number (RFC 5246 §6.1, RFC 8446 §5.3).
    public private(set) var sequence: UInt64 = 0
    private var nonce = [UInt8](repeating: 0, count: 12)
    private var aad: [UInt8] = []

    public init?(suite: TLSAEADSuite, keys: TLSTrafficKeys) {
        guard keys.iv.count == suite.fixedIVLength, let cipher = TLSAEADCipher(suite: suite, key: keys.key) else { return nil }
        self.suite = suite
        self.cipher = cipher
        self.iv = keys.iv
    }

    public func open(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) -> Result {
        let overhead = suite.explicitNonceLength + TLSAEADSuite.tagLength
        guard payload.count >= overhead + (suite.isTLS13 ? 1 : 0) else {
            return .malformed("a \(payload.count)-byte protected record (at least \(overhead + (suite.isTLS13 ? 1 : 0)) are needed)")
        }
        let seq = sequence
        if suite.explicitNonceLength > 0 {
            for i in 0..<4 { nonce[i] = iv[i] }
            for i in 0..<8 { nonce[4 + i] = payload[i] }
        } else {
            for i in 0..<12 { nonce[i] = iv[i] }
            for i in 0..<8 { nonce[4 + i] ^= UInt8(truncatingIfNeeded: seq >> (56 - 8 * UInt64(i))) }
        }
        aad.removeAll(keepingCapacity: true)
        if suite.isTLS13 {
            aad += [header.type.rawValue, UInt8(header.version.rawValue >> 8), UInt8(header.version.rawValue & 0xFF),
                    UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            for i in 0..<8 { aad.append(UInt8(truncatingIfNeeded: seq >> (56 - 8 * UInt64(i)))) }
            let n = payload.count - overhead
            aad += [header.type.rawValue, UInt8(header.version.rawValue >> 8), UInt8(header.version.rawValue & 0xFF), UInt8(n >> 8), UInt8(n & 0xFF)]
        }
        let sealed = UnsafeRawBufferPointer(rebasing: payload[suite.explicitNonceLength...])
        guard cipher.open(nonce: nonce, aad: aad, sealed: sealed, into: &plaintext) else { return .authenticationFailed }
        sequence &+= 1
        guard suite.isTLS13 else { return .opened(type: header.type) }
        // TLSInnerPlaintext: content, the real type, then zeros.
        while let last = plaintext.last, last == 0 { plaintext.removeLast() }
        guard let type = plaintext.popLast() else { return .malformed("a TLS 1.3 record with no content type (all padding)") }
        return .opened(type: TLSContentType(type))
    }
}
