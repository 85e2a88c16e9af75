#if canImport(Glibc)
import Glibc
#endif

/// How a `TLSClient` connects: what it asks for (SNI, ALPN) and what it trusts.
public struct TLSOptions: Sendable {
    /// Sent as SNI and checked against the certificate. An IP address (v4 or v6, brackets
    /// allowed) is checked against the certificate's IP SANs and sends no SNI, as RFC 6066
    /// requires. nil: no name check at all (the chain is still verified).
    public var serverName: String?
    /// Offered protocols, most preferred first; empty offers no ALPN extension.
    public var alpn: [String]
    /// PEM bundle of trusted CAs; nil uses OpenSSL's default store (/etc/ssl/certs).
    public var caFile: String?
    /// Complete the handshake even when verification fails; `TLSSessionInfo.verified`,
    /// `verifyError` and `verifyCode` still say what was wrong.
    public var insecure: Bool
    /// Appends the session secrets in NSS key log format (for Wireshark) to this file,
    /// created 0600. Callers pass `TLSOptions.environmentKeyLogFile` by default.
    public var keyLogFile: String?
    /// A client certificate (PEM, chain allowed) and its private key, for servers that
    /// require one (mTLS); both or neither.
    public var certificateFile: String?
    public var privateKeyFile: String?

    public init(serverName: String? = nil, alpn: [String] = ["h2", "http/1.1"], caFile: String? = nil,
                insecure: Bool = false, keyLogFile: String? = nil) {
        self.serverName = serverName
        self.alpn = alpn
        self.caFile = caFile
        self.insecure = insecure
        self.keyLogFile = keyLogFile
    }

    /// The SSLKEYLOGFILE environment variable, when set and not empty.
    public static var environmentKeyLogFile: String? {
        guard let value = getenv("SSLKEYLOGFILE") else { return nil }
        let path = String(cString: value)
        return path.isEmpty ? nil : path
    }
}
