/// A TLS 1.2 Certificate message (RFC 5246 §7.4.2): the chain as DER blobs, leaf first.
/// (TLS 1.3's Certificate differs and is encrypted; it is never read here.)
public struct TLSCertificateList {
    /// Each certificate's DER bytes, leaf first; views into the message body.
    public var certificates: [UnsafeRawBufferPointer]

    public init(tls12 body: UnsafeRawBufferPointer) throws(TLSMalformed) {
        var c = TLSWireCursor(body)
        guard let list = c.vector(prefix: 3), c.isAtEnd else { throw TLSMalformed("Certificate list length does not match the message") }
        var l = TLSWireCursor(list)
        certificates = []
        while !l.isAtEnd {
            guard let der = l.vector(prefix: 3), der.count > 0 else { throw TLSMalformed("Certificate entry overruns the list") }
            certificates.append(der)
        }
    }
}
