/// What a ServerHello chose (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3).
public struct TLSServerHello: Sendable, Equatable {
    public var legacyVersion: TLSProtocolVersion
    /// The 32-byte random (TLS 1.2's key block is derived from both randoms).
    public var random: [UInt8]
    public var cipherSuite: TLSCipherSuite
    /// supported_versions (43): TLS 1.3 names itself only here.
    public var selectedVersion: TLSProtocolVersion?
    /// ALPN (16) as TLS 1.2 sends it; a TLS 1.3 server puts it in EncryptedExtensions.
    public var alpn: String?
    /// A HelloRetryRequest: a ServerHello whose random is the fixed value of RFC 8446 §4.1.3.
    public var isHelloRetryRequest: Bool

    /// The version in force: supported_versions when present, else legacy_version.
    public var version: TLSProtocolVersion { selectedVersion ?? legacyVersion }

    static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    public init(_ body: UnsafeRawBufferPointer) throws(TLSMalformed) {
        var c = TLSWireCursor(body)
        guard let v = c.u16(), let random = c.take(32) else { throw TLSMalformed("ServerHello shorter than its version and random") }
        legacyVersion = TLSProtocolVersion(UInt16(v))
        isHelloRetryRequest = random.elementsEqual(Self.helloRetryRandom)
        self.random = Array(random)
        guard let session = c.vector(prefix: 1), session.count <= 32 else { throw TLSMalformed("ServerHello session id malformed") }
        guard let suite = c.u16(), c.u8() != nil else { throw TLSMalformed("ServerHello ends before its cipher suite and compression") }
        cipherSuite = TLSCipherSuite(UInt16(suite))
        selectedVersion = nil
        alpn = nil
        if c.isAtEnd { return }
        guard let block = c.vector(prefix: 2) else { throw TLSMalformed("ServerHello extensions block overruns the message") }
        var e = TLSWireCursor(block)
        while !e.isAtEnd {
            guard let type = e.u16(), let data = e.vector(prefix: 2) else { throw TLSMalformed("ServerHello extension overruns its block") }
            switch type {
            case 16:
                let names = try TLSClientHello.protocolNames(data)
                guard names.count == 1 else { throw TLSMalformed("ServerHello ALPN selects \(names.count) protocols, not one") }
                alpn = names[0]
            case 43:
                guard data.count == 2 else { throw TLSMalformed("ServerHello supported_versions is \(data.count) bytes, not 2") }
                selectedVersion = TLSProtocolVersion(UInt16(data[0]) << 8 | UInt16(data[1]))
            default: break
            }
        }
    }
}
