/// Receives what a `TLSRecordReader` reads, in wire order, during `feed(_:to:)`.
///
/// The sink chooses which payloads it needs: the rest are counted and skipped where they
/// lie. Today `analyze` wants the handshake, alerts and ChangeCipherSpec in clear and skips
/// application data; a decrypter (issue 17) will want application data too and hand the
/// plaintext on, with no change to the reader.
public protocol TLSRecordSink: AnyObject {
    /// Whether `record(_:payload:)` should carry the payload of records of this type.
    func wantsPayload(of type: TLSContentType) -> Bool
    /// A complete record. `payload` is empty unless wanted, and valid only during the call.
    func record(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer)
    /// An SSLv2-compatible ClientHello (RFC 5246 Appendix E.2) of `length` bytes: old
    /// clients' way of offering TLS; it has no extensions (no SNI, no ALPN).
    func sslv2ClientHello(version: TLSProtocolVersion, length: Int)
    /// The bytes stopped looking like TLS records; the reader reads no more. Called once.
    func stopped(reason: String)
}
