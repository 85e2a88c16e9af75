/// What a certificate says about itself, as text ready to print.
public struct TLSCertificateInfo: Sendable, Equatable {
    /// RFC 2253 form, most specific first: "CN=localhost,O=Example".
    public var subject: String
    public var issuer: String
    /// Subject alternative names with their kind: "DNS:localhost", "IP:127.0.0.1",
    /// "email:...", "URI:...", "other:<GENERAL_NAME type>".
    public var sans: [String]
    /// Validity, seconds since the Unix epoch (UTC).
    public var notBefore: Int64
    public var notAfter: Int64
    /// Upper-case hex without separators ("1A2B3C").
    public var serial: String
    /// OpenSSL's long name: "sha256WithRSAEncryption", "ecdsa-with-SHA256".
    public var signatureAlgorithm: String

    public init(subject: String, issuer: String, sans: [String], notBefore: Int64, notAfter: Int64,
                serial: String, signatureAlgorithm: String) {
        self.subject = subject
        self.issuer = issuer
        self.sans = sans
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.serial = serial
        self.signatureAlgorithm = signatureAlgorithm
    }

    /// Days from `now` (Unix seconds) to notAfter; negative once expired.
    public func daysUntilExpiry(now: Int64) -> Double {
        Double(notAfter - now) / 86_400
    }

    /// Whether `now` lies outside notBefore...notAfter.
    public func isExpired(now: Int64) -> Bool { now > notAfter }
    public func isNotYetValid(now: Int64) -> Bool { now < notBefore }
}
