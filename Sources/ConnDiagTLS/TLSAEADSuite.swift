/// The AEAD and hash of a cipher suite that a key log can decrypt: TLS 1.2 ECDHE with
/// AES-GCM or ChaCha20-Poly1305, and TLS 1.3's three common suites. Other suites (CBC, CCM,
/// static RSA) are recognised but not decrypted.
public struct TLSAEADSuite: Sendable, Equatable {
    public enum Cipher: Sendable, Equatable { case aes128GCM, aes256GCM, chacha20Poly1305 }
    public enum Hash: String, Sendable, Equatable {
        case sha256 = "SHA256", sha384 = "SHA384"
        public var length: Int { self == .sha256 ? 32 : 48 }
    }

    public var cipher: Cipher
    /// The hash of the TLS 1.2 PRF or of TLS 1.3's HKDF.
    public var hash: Hash
    public var isTLS13: Bool

    public var keyLength: Int { cipher == .aes128GCM ? 16 : 32 }
    /// The IV the key schedule yields: TLS 1.2 GCM's 4-byte salt (the other 8 bytes of the
    /// nonce travel in each record, RFC 5288 §3), else the whole 12-byte nonce base.
    public var fixedIVLength: Int { !isTLS13 && cipher != .chacha20Poly1305 ? 4 : 12 }
    /// Bytes before the ciphertext of each record: TLS 1.2 GCM's explicit nonce.
    public var explicitNonceLength: Int { !isTLS13 && cipher != .chacha20Poly1305 ? 8 : 0 }
    public static let tagLength = 16

    /// OpenSSL's name of the cipher (EVP_CIPHER_fetch).
    var openSSLName: String {
        switch cipher {
        case .aes128GCM: return "AES-128-GCM"
        case .aes256GCM: return "AES-256-GCM"
        case .chacha20Poly1305: return "ChaCha20-Poly1305"
        }
    }

    /// The suite's AEAD, or nil when it is not one this decrypts.
    public init?(_ suite: TLSCipherSuite) {
        switch suite.rawValue {
        case 0x1301: self.init(cipher: .aes128GCM, hash: .sha256, isTLS13: true)
        case 0x1302: self.init(cipher: .aes256GCM, hash: .sha384, isTLS13: true)
        case 0x1303: self.init(cipher: .chacha20Poly1305, hash: .sha256, isTLS13: true)
        case 0xc02b, 0xc02f, 0x009e: self.init(cipher: .aes128GCM, hash: .sha256, isTLS13: false)
        case 0xc02c, 0xc030, 0x009f: self.init(cipher: .aes256GCM, hash: .sha384, isTLS13: false)
        case 0xcca8, 0xcca9, 0xccaa: self.init(cipher: .chacha20Poly1305, hash: .sha256, isTLS13: false)
        default: return nil
        }
    }

    public init(cipher: Cipher, hash: Hash, isTLS13: Bool) {
        self.cipher = cipher; self.hash = hash; self.isTLS13 = isTLS13
    }
}
