import ConnDiagPacket

/// One side of a TCP connection: address and port. A value with no heap storage.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    @inlinable public init(_ address: IPAddress, _ port: UInt16) { self.address = address; self.port = port }

    /// Written out (and inlinable) so that a lookup per packet in another module compares in place.
    @inlinable public static func == (a: Endpoint, b: Endpoint) -> Bool { a.port == b.port && a.address == b.address }
    /// "10.0.0.1:443", "[2001:db8::1]:443".
    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// A total order used only to give a connection one key whichever way a packet goes.
    @inlinable @inline(__always)
    public static func ordered(_ a: Endpoint, _ b: Endpoint) -> Bool {
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
