/// A bounds-checked reader over handshake bytes: every read returns nil past the end, so a
/// malformed message can only fail to parse, never read outside its bytes.
struct TLSWireCursor {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    mutating func u8() -> Int? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return Int(bytes[offset])
    }

    mutating func u16() -> Int? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }

    mutating func u24() -> Int? {
        guard remaining >= 3 else { return nil }
        defer { offset += 3 }
        return Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
    }

    /// The next `n` bytes, as a view.
    mutating func take(_ n: Int) -> UnsafeRawBufferPointer? {
        guard n >= 0, remaining >= n else { return nil }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    /// A vector with a length prefix of `prefix` bytes (1, 2 or 3).
    mutating func vector(prefix: Int) -> UnsafeRawBufferPointer? {
        let n: Int?
        switch prefix {
        case 1: n = u8()
        case 2: n = u16()
        default: n = u24()
        }
        guard let n else { return nil }
        return take(n)
    }
}

/// Why a handshake message could not be read.
public struct TLSMalformed: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A name from the wire as printable text: bytes outside printable ASCII become "\xNN", so
/// a hostile SNI or ALPN value cannot break a line of the report.
func printableText(_ p: UnsafeRawBufferPointer) -> String {
    var s = ""
    s.reserveCapacity(p.count)
    for b in p {
        if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") { s.unicodeScalars.append(Unicode.Scalar(b)) }
        else { s += "\\x" + String(b, radix: 16).leftPadded(2) }
    }
    return s
}
