internal import CTLS

extension TLSCertificateInfo {
    /// Reads a DER certificate (as a TLS 1.2 Certificate message carries it) with OpenSSL's
    /// d2i_X509; nil when OpenSSL cannot parse it. No ASN.1 is read by hand.
    public init?(der: UnsafeRawBufferPointer) {
        guard let base = der.baseAddress, der.count > 0, der.count <= Int(Int32.max) else { return nil }
        var cursor: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
        guard let x509 = d2i_X509(nil, &cursor, der.count) else {
            ERR_clear_error()
            return nil
        }
        defer { X509_free(x509) }
        self.init(x509: x509)
    }
}
