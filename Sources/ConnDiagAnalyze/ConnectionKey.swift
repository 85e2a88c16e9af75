import ConnDiagDiagnosis
import ConnDiagPacket

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
    /// Equal keys have equal fields, so equal hashes. `_rawHashValue` is the standard
    /// library's underscored hook for this; it is one of the per-packet costs the analyze
    /// benchmark (README) removed, and stays only for that.
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
