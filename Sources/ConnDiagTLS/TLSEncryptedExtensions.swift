/// TLS 1.3's EncryptedExtensions (RFC 8446 §4.3.1): where the server names the ALPN
/// protocol it chose, readable only once the handshake is decrypted.
public struct TLSEncryptedExtensions: Sendable, Equatable {
    public var alpn: String?

    public init(_ body: UnsafeRawBufferPointer) throws(TLSMalformed) {
        var c = TLSWireCursor(body)
        alpn = nil
        guard let block = c.vector(prefix: 2) else { throw TLSMalformed("EncryptedExtensions block overruns the message") }
        var e = TLSWireCursor(block)
        while !e.isAtEnd {
            guard let type = e.u16(), let data = e.vector(prefix: 2) else { throw TLSMalformed("EncryptedExtensions extension overruns its block") }
            if type == 16 {
                let names = try TLSClientHello.protocolNames(data)
                guard names.count == 1 else { throw TLSMalformed("EncryptedExtensions ALPN selects \(names.count) protocols, not one") }
                alpn = names[0]
            }
        }
    }
}
