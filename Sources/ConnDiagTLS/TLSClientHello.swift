/// What a ClientHello offers (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2): the fields a diagnosis
/// needs, read from the message body with every length checked.
public struct TLSClientHello: Sendable, Equatable {
    /// legacy_version (0x0303 for TLS 1.2 and 1.3 clients).
    public var legacyVersion: TLSProtocolVersion
    /// The 32-byte random: what a key log names the session by.
    public var random: [UInt8]
    public var cipherSuites: [TLSCipherSuite]
    /// server_name (extension 0), host_name entry.
    public var serverName: String?
    /// application_layer_protocol_negotiation (16), in the client's order.
    public var alpn: [String]
    /// supported_versions (43), GREASE left out; empty when the extension is absent.
    public var supportedVersions: [TLSProtocolVersion]
    /// Extension types in order.
    public var extensions: [UInt16]

    public init(_ body: UnsafeRawBufferPointer) throws(TLSMalformed) {
        var c = TLSWireCursor(body)
        guard let v = c.u16(), let random = c.take(32) else { throw TLSMalformed("ClientHello shorter than its version and random") }
        legacyVersion = TLSProtocolVersion(UInt16(v))
        self.random = Array(random)
        guard let session = c.vector(prefix: 1), session.count <= 32 else { throw TLSMalformed("ClientHello session id malformed") }
        guard let suites = c.vector(prefix: 2), suites.count % 2 == 0 else { throw TLSMalformed("ClientHello cipher suites malformed") }
        cipherSuites = stride(from: 0, to: suites.count, by: 2).map { TLSCipherSuite(UInt16(suites[$0]) << 8 | UInt16(suites[$0 + 1])) }
        guard c.vector(prefix: 1) != nil else { throw TLSMalformed("ClientHello compression methods malformed") }
        serverName = nil
        alpn = []
        supportedVersions = []
        extensions = []
        if c.isAtEnd { return }   // no extensions at all (an SSL 3.0-era hello)
        guard let block = c.vector(prefix: 2) else { throw TLSMalformed("ClientHello extensions block overruns the message") }
        var e = TLSWireCursor(block)
        while !e.isAtEnd {
            guard let type = e.u16(), let data = e.vector(prefix: 2) else { throw TLSMalformed("ClientHello extension overruns its block") }
            extensions.append(UInt16(type))
            switch type {
            case 0: serverName = try Self.serverName(data)
            case 16: alpn = try TLSClientHello.protocolNames(data)
            case 43:
                var d = TLSWireCursor(data)
                guard let list = d.vector(prefix: 1), list.count % 2 == 0 else { throw TLSMalformed("supported_versions malformed") }
                supportedVersions = stride(from: 0, to: list.count, by: 2)
                    .map { TLSProtocolVersion(UInt16(list[$0]) << 8 | UInt16(list[$0 + 1])) }
                    .filter { !$0.isGREASE }
            default: break
            }
        }
    }

    /// The host_name of a server_name extension (RFC 6066 §3).
    private static func serverName(_ data: UnsafeRawBufferPointer) throws(TLSMalformed) -> String? {
        var d = TLSWireCursor(data)
        guard let list = d.vector(prefix: 2) else { throw TLSMalformed("server_name list malformed") }
        var l = TLSWireCursor(list)
        while !l.isAtEnd {
            guard let kind = l.u8(), let name = l.vector(prefix: 2) else { throw TLSMalformed("server_name entry malformed") }
            if kind == 0 { return printableText(name) }
        }
        return nil
    }

    /// An ALPN ProtocolNameList (RFC 7301 §3.1).
    static func protocolNames(_ data: UnsafeRawBufferPointer) throws(TLSMalformed) -> [String] {
        var d = TLSWireCursor(data)
        guard let list = d.vector(prefix: 2) else { throw TLSMalformed("ALPN list malformed") }
        var l = TLSWireCursor(list)
        var names: [String] = []
        while !l.isAtEnd {
            guard let name = l.vector(prefix: 1), name.count > 0 else { throw TLSMalformed("ALPN protocol name malformed") }
            names.append(printableText(name))
        }
        return names
    }
}
