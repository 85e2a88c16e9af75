import ConnDiagTLS

/// What one connection's TLS handshake showed in clear: the hellos, the leaf certificate
/// (TLS 1.2 only: TLS 1.3 encrypts it) and what could not be read.
struct TLSHandshakeFacts {
    var clientHello: TLSClientHello?
    var serverHello: TLSServerHello?
    /// A second ClientHello after a HelloRetryRequest replaces the first one's offer.
    var helloRetryRequested = false
    /// The client opened with an SSLv2-compatible ClientHello offering this version.
    var sslv2ClientHello: TLSProtocolVersion?
    var certificate: TLSCertificateInfo?
    var certificateCount = 0
    /// Why the certificate could not be read, when a Certificate message was seen.
    var certificateProblem: String?
    /// TLS 1.3's ALPN choice, read from the decrypted EncryptedExtensions.
    var encryptedExtensionsALPN: String?

    /// The protocol the server chose: in the ServerHello (TLS 1.2) or, decrypted, in
    /// EncryptedExtensions (TLS 1.3).
    var alpn: String? { serverHello?.alpn ?? encryptedExtensionsALPN }

    /// The version in force: the ServerHello's (supported_versions first), if seen.
    var version: TLSProtocolVersion? { serverHello?.version }
    /// A HelloRetryRequest exists only in TLS 1.3: the CCS and second ClientHello after it are
    /// in clear, before the real ServerHello says so.
    var isTLS13: Bool { version == .tls13 || helloRetryRequested }
}
