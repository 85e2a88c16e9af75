/// An IPv4 or IPv6 address as it appears on the wire (network byte order bytes).
/// Value type with no heap storage so decoding a packet allocates nothing.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Four bytes, first byte most significant (10.0.0.1 == 0x0A00_0001).
    case v4(UInt32)
    /// Sixteen bytes as two big-endian halves.
    case v6(UInt64, UInt64)

    public var isIPv6: Bool { if case .v6 = self { return true } else { return false } }

    /// Reads 4 or 16 bytes at `offset` (caller has bounds-checked).
    public init(v4 bytes: UnsafeRawBufferPointer, at offset: Int) {
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        self = .v4(v)
    }

    public init(v6 bytes: UnsafeRawBufferPointer, at offset: Int) {
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<8 { hi = hi << 8 | UInt64(bytes[offset + i]) }
        for i in 8..<16 { lo = lo << 8 | UInt64(bytes[offset + i]) }
        self = .v6(hi, lo)
    }

    /// The address as bytes in network order.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v): return (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) }
        case .v6(let hi, let lo):
            return (0..<8).map { UInt8(truncatingIfNeeded: hi >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: lo >> (56 - 8 * $0)) }
        }
    }

    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: self = bytes.withUnsafeBytes { IPAddress(v4: $0, at: 0) }
        case 16: self = bytes.withUnsafeBytes { IPAddress(v6: $0, at: 0) }
        default: return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (with `::`, optional embedded IPv4).
    public init?(_ text: String) {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var v: UInt32 = 0
            for p in parts {
                // Decimal digits only (UInt32("+1") would parse), no leading zeros (inet_pton
                // rejects them: they read as octal elsewhere).
                guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      p.count == 1 || p.utf8.first != 0x30,
                      let n = UInt32(p), n <= 255 else { return nil }
                v = v << 8 | n
            }
            self = .v4(v)
            return
        }
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        // Split at the one "::" (no Foundation in this module).
        var halves: [String] = []
        let chars = Array(text)
        var cut: [Int] = []
        var k = 0
        while k + 1 < chars.count { if chars[k] == ":" && chars[k + 1] == ":" { cut.append(k); k += 2 } else { k += 1 } }
        guard cut.count <= 1 else { return nil }
        if let c = cut.first { halves = [String(chars[..<c]), String(chars[(c + 2)...])] } else { halves = [text] }
        // An embedded IPv4 address may only end the whole address.
        func parse(_ s: String, into out: inout [UInt16], mayEndInIPv4: Bool) -> Bool {
            if s.isEmpty { return true }
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if mayEndInIPv4, i == parts.count - 1, p.contains(".") {
                    guard case .v4(let v)? = IPAddress(String(p)) else { return false }
                    out.append(UInt16(v >> 16)); out.append(UInt16(v & 0xffff))
                    continue
                }
                guard !p.isEmpty, p.count <= 4, p.utf8.allSatisfy(Self.isHexDigit),
                      let n = UInt16(p, radix: 16) else { return false }
                out.append(n)
            }
            return true
        }
        guard parse(halves[0], into: &groups, mayEndInIPv4: halves.count == 1) else { return nil }
        if halves.count == 2 {
            sawGap = true
            guard parse(halves[1], into: &tail, mayEndInIPv4: true) else { return nil }
        }
        let total = groups.count + tail.count
        if sawGap { guard total < 8 else { return nil } } else { guard total == 8 else { return nil } }
        let all = groups + Array(repeating: 0, count: 8 - total) + tail
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        self = .v6(hi, lo)
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), if this is one.
    public var ipv4Mapped: IPAddress? {
        if case .v6(0, let lo) = self, lo >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: lo)) }
        return nil
    }

    /// RFC 5952 text: dotted quad, or lowercase hex with the longest zero run (two groups or
    /// more, the first of equal runs) as `::`; IPv4-mapped addresses as `::ffff:1.2.3.4` (§5).
    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:" + v4.description }
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        case .v6(let hi, let lo):
            let g: [UInt16] = (0..<4).map { UInt16(truncatingIfNeeded: hi >> (48 - 16 * $0)) }
                + (0..<4).map { UInt16(truncatingIfNeeded: lo >> (48 - 16 * $0)) }
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
            }
            func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
            if bestStart < 0 { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
        }
    }
}
