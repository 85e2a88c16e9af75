/// TLS 1.3's record keys from a traffic secret a key log gives (RFC 8446 §7.3):
/// key = HKDF-Expand-Label(secret, "key", "", key length), iv = ...("iv", "", 12); and a
/// KeyUpdate's next secret = HKDF-Expand-Label(secret, "traffic upd", "", hash length).
public enum TLS13KeySchedule {
    public static func keys(suite: TLSAEADSuite, secret: [UInt8]) -> TLSTrafficKeys? {
        guard suite.isTLS13, secret.count == suite.hash.length,
              let key = TLSKeyDerivation.hkdfExpandLabel(hash: suite.hash, secret: secret, label: "key", length: suite.keyLength),
              let iv = TLSKeyDerivation.hkdfExpandLabel(hash: suite.hash, secret: secret, label: "iv", length: 12)
        else { return nil }
        return TLSTrafficKeys(key: key, iv: iv)
    }

    public static func nextSecret(suite: TLSAEADSuite, after secret: [UInt8]) -> [UInt8]? {
        TLSKeyDerivation.hkdfExpandLabel(hash: suite.hash, secret: secret, label: "traffic upd", length: suite.hash.length)
    }
}
