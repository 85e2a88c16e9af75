/// Whether a direction's bytes begin with TLS, from the record layer alone (any port).
public enum TLSSniffer {
    public enum Verdict: Equatable { case notTLS, tls, sslv2ClientHello }

    /// At the start of a direction seen from the SYN: a handshake record (a ClientHello from
    /// the client; a ServerHello or an alert from the server), or an SSLv2-compatible
    /// ClientHello. `peerIsTLS`: the other direction is TLS already, so any valid record
    /// header will do.
    public static func atStart(_ p: UnsafeRawBufferPointer, client: Bool, peerIsTLS: Bool) -> Verdict {
        if client, isSSLv2ClientHello(p) { return .sslv2ClientHello }
        guard p.count >= TLSRecordHeader.size else { return .notTLS }
        let h = TLSRecordHeader(p)
        guard h.invalidReason == nil, h.version.rawValue >= 0x0300 else { return .notTLS }
        if peerIsTLS { return .tls }
        if client {
            guard h.type == .handshake else { return .notTLS }
            return p.count == TLSRecordHeader.size || p[TLSRecordHeader.size] == TLSHandshakeType.clientHello.rawValue ? .tls : .notTLS
        }
        if h.type == .alert { return h.length == 2 ? .tls : .notTLS }
        guard h.type == .handshake else { return .notTLS }
        return p.count == TLSRecordHeader.size || p[TLSRecordHeader.size] == TLSHandshakeType.serverHello.rawValue ? .tls : .notTLS
    }

    /// Mid-connection (no SYN in the capture): a valid record header at the start of the
    /// segment whose records chain to its end (or run past it), TLS 1.0-1.2 record versions
    /// only (TLS 1.3 writes 0x0303).
    public static func midConnection(_ p: UnsafeRawBufferPointer) -> Verdict {
        var off = 0
        var records = 0
        while p.count - off >= TLSRecordHeader.size {
            let h = TLSRecordHeader(UnsafeRawBufferPointer(rebasing: p[off..<(off + TLSRecordHeader.size)]))
            guard h.invalidReason == nil, h.version.rawValue >= 0x0301, h.version.rawValue <= 0x0303,
                  h.type.rawValue <= TLSContentType.applicationData.rawValue else { return .notTLS }
            records += 1
            off += TLSRecordHeader.size + h.length
        }
        // A few trailing bytes of a next header are fine; bytes that cannot be one are not.
        if off < p.count, p[off] < 20 || p[off] > 23 { return .notTLS }
        return records > 0 ? .tls : .notTLS
    }

    /// An SSLv2 record header with CLIENT-HELLO offering SSL 2.0-TLS 1.2.
    static func isSSLv2ClientHello(_ p: UnsafeRawBufferPointer) -> Bool {
        guard p.count >= 5, p[0] & 0x80 != 0, p[2] == 1 else { return false }
        let length = Int(p[0] & 0x7f) << 8 | Int(p[1])
        let version = UInt16(p[3]) << 8 | UInt16(p[4])
        return length >= 9 && (version == 0x0002 || (version >= 0x0300 && version <= 0x0303))
    }
}
