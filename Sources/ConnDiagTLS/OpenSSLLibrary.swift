internal import CTLS

/// The libssl/libcrypto conndiag runs with, for --version.
public enum OpenSSLLibrary {
    /// OpenSSL_version(OPENSSL_VERSION), e.g. "OpenSSL 3.0.17 1 Jul 2025".
    public static var version: String {
        guard let text = OpenSSL_version(Int32(OPENSSL_VERSION)) else { return "unknown" }
        return String(cString: text)
    }
}
