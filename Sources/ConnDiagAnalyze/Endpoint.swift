import ConnDiagPacket

/// One side of a TCP connection: address and port. A value with no heap storage.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public init(_ address: IPAddress, _ port: UInt16) { self.address = address; self.port = port }
    /// "10.0.0.1:443", "[2001:db8::1]:443".
    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// A total order used only to give a connection one key whichever way a packet goes.
    @inline(__always)
    static func ordered(_ a: Endpoint, _ b: Endpoint) -> Bool {
        switch (a.address, b.address) {
        case (.v4(let x), .v4(let y)): return x != y ? x < y : a.port < b.port
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let xh, let xl), .v6(let yh, let yl)):
            if xh != yh { return xh < yh }
            if xl != yl { return xl < yl }
            return a.port < b.port
        }
    }
}

/// A connection's key: its two endpoints in a fixed order, so both directions find it.
struct ConnectionKey: Hashable {
    var low: Endpoint
    var high: Endpoint
    @inline(__always)
    init(_ a: Endpoint, _ b: Endpoint) {
        if Endpoint.ordered(a, b) { low = a; high = b } else { low = b; high = a }
    }
}

extension ConnectionKey {
    /// One word per address half and the two ports, mixed (multiply-xorshift, seeded):
    /// a lookup per packet hashes four words instead of running SipHash over the fields.
    /// Equal keys have equal fields, so equal hashes.
    @inline(__always)
    func _rawHashValue(seed: Int) -> Int {
        var h = UInt64(bitPattern: Int64(seed)) ^ 0x9E37_79B9_7F4A_7C15
        @inline(__always) func mix(_ v: UInt64) {
            h = (h ^ v) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
        }
        @inline(__always) func address(_ a: IPAddress) {
            switch a {
            case .v4(let x): mix(UInt64(x) | 0x4_0000_0000)
            case .v6(let hi, let lo): mix(hi); mix(lo ^ 0x6)
            }
        }
        address(low.address)
        address(high.address)
        mix(UInt64(low.port) << 16 | UInt64(high.port))
        h = (h ^ (h >> 31)) &* 0x94D0_49BB_1331_11EB
        return Int(bitPattern: UInt(h ^ (h >> 32)))
    }

    func hash(into hasher: inout Hasher) { hasher.combine(_rawHashValue(seed: 0)) }
}
