internal import CTLS

/// One direction's AEAD key in OpenSSL (EVP_CIPHER_CTX): the key is set once, each record
/// opens with its own nonce and additional data, and the tag decides (EVP_DecryptFinal_ex).
public final class TLSAEADCipher {
    private let ctx: OpaquePointer

    /// Nil when OpenSSL lacks the cipher or refuses the key.
    public init?(suite: TLSAEADSuite, key: [UInt8]) {
        guard key.count == suite.keyLength, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        self.ctx = ctx
        guard let cipher = EVP_CIPHER_fetch(nil, suite.openSSLName, nil) else { EVP_CIPHER_CTX_free(ctx); return nil }
        defer { EVP_CIPHER_free(cipher) }
        guard EVP_DecryptInit_ex(ctx, cipher, nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nil) == 1,
              key.withUnsafeBufferPointer({ EVP_DecryptInit_ex(ctx, nil, nil, $0.baseAddress, nil) }) == 1
        else { EVP_CIPHER_CTX_free(ctx); return nil }
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    /// Decrypts `sealed` (ciphertext then the 16-byte tag) into `plaintext` (resized to
    /// fit); false when the tag does not verify: wrong key, wrong nonce or damaged bytes.
    public func open(nonce: [UInt8], aad: [UInt8], sealed: UnsafeRawBufferPointer, into plaintext: inout [UInt8]) -> Bool {
        let tagLength = TLSAEADSuite.tagLength
        guard nonce.count == 12, sealed.count >= tagLength, let base = sealed.baseAddress else { return false }
        let n = sealed.count - tagLength
        plaintext.removeAll(keepingCapacity: true)
        plaintext.append(contentsOf: repeatElement(0, count: n + 16))
        var outLength: Int32 = 0
        guard nonce.withUnsafeBufferPointer({ EVP_DecryptInit_ex(ctx, nil, nil, nil, $0.baseAddress) }) == 1,
              aad.withUnsafeBufferPointer({ EVP_DecryptUpdate(ctx, nil, &outLength, $0.baseAddress, Int32($0.count)) }) == 1
        else { return false }
        let tag = UnsafeMutableRawPointer(mutating: base + n)
        var total = 0
        let ok = plaintext.withUnsafeMutableBufferPointer { out -> Bool in
            if n > 0 {
                guard EVP_DecryptUpdate(ctx, out.baseAddress, &outLength, base.assumingMemoryBound(to: UInt8.self), Int32(n)) == 1 else { return false }
                total = Int(outLength)
            }
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(tagLength), tag) == 1 else { return false }
            var finalLength: Int32 = 0
            guard EVP_DecryptFinal_ex(ctx, out.baseAddress! + total, &finalLength) == 1 else { return false }
            total += Int(finalLength)
            return true
        }
        plaintext.removeLast(plaintext.count - min(total, plaintext.count))
        return ok
    }
}
