/// A handshake message type (RFC 8446 §4, RFC 5246 §7.4). Open: unknown types print as numbers.
public struct TLSHandshakeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let helloRequest = TLSHandshakeType(0)
    public static let clientHello = TLSHandshakeType(1)
    public static let serverHello = TLSHandshakeType(2)
    public static let newSessionTicket = TLSHandshakeType(4)
    public static let encryptedExtensions = TLSHandshakeType(8)
    public static let certificate = TLSHandshakeType(11)
    public static let serverKeyExchange = TLSHandshakeType(12)
    public static let certificateRequest = TLSHandshakeType(13)
    public static let serverHelloDone = TLSHandshakeType(14)
    public static let certificateVerify = TLSHandshakeType(15)
    public static let clientKeyExchange = TLSHandshakeType(16)
    public static let finished = TLSHandshakeType(20)
    public static let certificateStatus = TLSHandshakeType(22)
    public static let keyUpdate = TLSHandshakeType(24)

    private static let names: [UInt8: String] = [
        0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 5: "EndOfEarlyData",
        8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
        14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished",
        22: "CertificateStatus", 24: "KeyUpdate", 254: "message_hash",
    ]

    public var name: String { Self.names[rawValue] ?? "handshake type \(rawValue)" }
    public var description: String { name }
}
