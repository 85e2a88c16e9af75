/// What a completed handshake negotiated and what verification concluded.
public struct TLSSessionInfo: Sendable, Equatable {
    /// "TLSv1.3", "TLSv1.2", ...
    public var version: String
    /// OpenSSL's name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256".
    public var cipher: String
    /// The protocol the server selected, nil when it selected none.
    public var alpn: String?
    /// The server's own certificate (first of the chain it sent).
    public var peerCertificate: TLSCertificateInfo?
    /// How many certificates the server sent, its own included.
    public var chainLength: Int
    /// Chain and name verified (always false without a peer certificate).
    public var verified: Bool
    /// X509_verify_cert_error_string: "certificate has expired", "hostname mismatch",
    /// "self-signed certificate"; nil when verified.
    public var verifyError: String?
    /// The X509_V_ERR_* code; 0 (X509_V_OK) when verified.
    public var verifyCode: Int32

    public init(version: String, cipher: String, alpn: String?, peerCertificate: TLSCertificateInfo?,
                chainLength: Int, verified: Bool, verifyError: String?, verifyCode: Int32) {
        self.version = version
        self.cipher = cipher
        self.alpn = alpn
        self.peerCertificate = peerCertificate
        self.chainLength = chainLength
        self.verified = verified
        self.verifyError = verifyError
        self.verifyCode = verifyCode
    }
}
