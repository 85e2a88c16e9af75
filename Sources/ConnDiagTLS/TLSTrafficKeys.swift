/// One direction's write key and IV (TLS 1.2 GCM: the 4-byte salt; else the 12-byte
/// nonce base), as a key schedule derives them.
public struct TLSTrafficKeys: Sendable, Equatable {
    public var key: [UInt8]
    public var iv: [UInt8]
    public init(key: [UInt8], iv: [UInt8]) { self.key = key; self.iv = iv }
}
