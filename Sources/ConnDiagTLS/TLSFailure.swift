/// Why TLS could not go on, in one line: "certificate verify failed: certificate has
/// expired (X509 error 10)", "server sent alert: handshake failure", "peer closed the
/// connection during the handshake", "not a TLS server: ...".
public struct TLSFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    /// The X509_V_ERR_* code when certificate verification failed.
    public var verifyCode: Int32?
    /// The alert the server sent, by its long name ("handshake failure").
    public var alert: String?
    /// The server's certificate when it got that far (also when verification failed), so
    /// a report can show whose certificate expired and when.
    public var peerCertificate: TLSCertificateInfo?
    /// errno of the failed socket call, when a socket error ended the connection.
    public var errno: Int32?

    public init(reason: String, verifyCode: Int32? = nil, alert: String? = nil,
                peerCertificate: TLSCertificateInfo? = nil, errno: Int32? = nil) {
        self.reason = reason
        self.verifyCode = verifyCode
        self.alert = alert
        self.peerCertificate = peerCertificate
        self.errno = errno
    }

    public var description: String { reason }
}
