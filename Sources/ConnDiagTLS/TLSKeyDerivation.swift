internal import CTLS

/// The two key derivation functions TLS needs, both OpenSSL's EVP_KDF: the TLS 1.2 PRF
/// (RFC 5246 §5, "TLS1-PRF") and TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1, "HKDF" in
/// EXPAND_ONLY mode). Nil when OpenSSL refuses (it should not for valid lengths).
public enum TLSKeyDerivation {
    /// PRF(secret, label, seed) of `length` bytes.
    public static func tls12PRF(hash: TLSAEADSuite.Hash, secret: [UInt8], label: String, seed: [UInt8], length: Int) -> [UInt8]? {
        derive("TLS1-PRF", hash: hash, length: length, octets: [("secret", secret), ("seed", Array(label.utf8) + seed)])
    }

    /// HKDF-Expand-Label(secret, label, context, length): the label gets the "tls13 " prefix
    /// and the HkdfLabel structure is the HKDF info.
    public static func hkdfExpandLabel(hash: TLSAEADSuite.Hash, secret: [UInt8], label: String, context: [UInt8] = [], length: Int) -> [UInt8]? {
        let fullLabel = Array("tls13 ".utf8) + Array(label.utf8)
        guard length <= 0xFFFF, fullLabel.count <= 255, context.count <= 255 else { return nil }
        let info = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)] + fullLabel + [UInt8(context.count)] + context
        return derive("HKDF", hash: hash, length: length, octets: [("key", secret), ("info", info)], mode: "EXPAND_ONLY")
    }

    private static func derive(_ algorithm: String, hash: TLSAEADSuite.Hash, length: Int, octets: [(String, [UInt8])], mode: String? = nil) -> [UInt8]? {
        guard length > 0, let kdf = EVP_KDF_fetch(nil, algorithm, nil) else { return nil }
        defer { EVP_KDF_free(kdf) }
        guard let ctx = EVP_KDF_CTX_new(kdf) else { return nil }
        defer { EVP_KDF_CTX_free(ctx) }
        // OSSL_PARAM points at its strings and buffers: keep them alive through the derive.
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer { strings.forEach { free($0) } }
        func cString(_ s: String) -> UnsafeMutablePointer<CChar> { let p = strdup(s)!; strings.append(p); return p }
        var buffers: [UnsafeMutableRawPointer] = []
        defer { buffers.forEach { free($0) } }
        var params: [OSSL_PARAM] = [OSSL_PARAM_construct_utf8_string(cString("digest"), cString(hash.rawValue), 0)]
        if let mode { params.append(OSSL_PARAM_construct_utf8_string(cString("mode"), cString(mode), 0)) }
        for (name, bytes) in octets {
            let buffer = malloc(max(bytes.count, 1))!
            buffers.append(buffer)
            bytes.withUnsafeBytes { if let b = $0.baseAddress { buffer.copyMemory(from: b, byteCount: bytes.count) } }
            params.append(OSSL_PARAM_construct_octet_string(cString(name), buffer, bytes.count))
        }
        params.append(OSSL_PARAM_construct_end())
        var out = [UInt8](repeating: 0, count: length)
        let ok = out.withUnsafeMutableBufferPointer { o in
            params.withUnsafeBufferPointer { EVP_KDF_derive(ctx, o.baseAddress, length, $0.baseAddress) }
        }
        return ok == 1 ? out : nil
    }
}
