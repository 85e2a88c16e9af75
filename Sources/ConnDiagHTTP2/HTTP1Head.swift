/// The head of an HTTP/1.x message (RFC 9112 §2.1): its start line and header fields, up to
/// the empty line. Read only as far as the HTTP/2 analysis needs it: an `Upgrade: h2c`
/// request and its `101 Switching Protocols` (RFC 7540 §3.2), or a CONNECT and its 2xx.
public struct HTTP1Head: Hashable, Sendable {
    public enum StartLine: Hashable, Sendable {
        case request(method: String, target: String)
        case response(status: Int)
    }

    public var startLine: StartLine
    /// "HTTP/1.1", "HTTP/1.0".
    public var version: String
    public var fields: [HTTP2Header]

    public enum Parsed: Hashable, Sendable {
        /// A whole head, `length` bytes with its final CRLF CRLF.
        case head(HTTP1Head, length: Int)
        /// The bytes so far could begin a head; it has not ended yet.
        case needMoreData
        /// Not an HTTP/1.x head.
        case notHTTP1
    }

    /// Reads the head at the start of `bytes`. A head longer than `limit` bytes is `notHTTP1`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limit: Int = 64 << 10) -> Parsed {
        guard let end = headEnd(bytes, limit: limit) else {
            return bytes.count > limit || !startsLikeHTTP1(bytes) ? .notHTTP1 : .needMoreData
        }
        var lines: [UnsafeRawBufferPointer.SubSequence] = []
        var lineStart = 0
        var i = 0
        while i + 1 < end {
            if bytes[i] == 0x0D && bytes[i + 1] == 0x0A {
                lines.append(bytes[lineStart..<i])
                lineStart = i + 2
                i += 2
            } else {
                i += 1
            }
        }
        lines.append(bytes[lineStart..<end])
        guard let first = lines.first else { return .notHTTP1 }
        let parts = first.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 3 else { return .notHTTP1 }
        let startLine: StartLine
        let version: String
        if parts[0].hasPrefix("HTTP/1.") {
            guard let status = Int(parts[1]), (100...999).contains(status) else { return .notHTTP1 }
            startLine = .response(status: status)
            version = parts[0]
        } else {
            guard isToken(parts[0]), parts[2].hasPrefix("HTTP/1.") else { return .notHTTP1 }
            startLine = .request(method: parts[0], target: parts[1])
            version = parts[2]
        }
        var fields: [HTTP2Header] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: 0x3A) else { continue }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
            fields.append(HTTP2Header(name.lowercased(), trimmed(value)))
        }
        return .head(HTTP1Head(startLine: startLine, version: version, fields: fields), length: end + 4)
    }

    /// True when `bytes` begin like an HTTP/1.x request line ("GET /x HTTP/1.1"): a method
    /// token and a space, and, once the line has ended, "HTTP/1." at its end. The HTTP/2
    /// preface ("PRI * HTTP/2.0") is not one.
    public static func startsLikeRequest(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < bytes.count && i < 24 && isTokenByte(bytes[i]) { i += 1 }
        guard i > 0, i < bytes.count, bytes[i] == 0x20 else { return false }
        guard let lineEnd = firstCRLF(bytes, limit: 8 << 10) else { return bytes.count < 8 << 10 && knownMethod(bytes, i) }
        let version = Array("HTTP/1.".utf8)
        // An HTTP/0.9 simple request ("GET /path") has no version.
        let simple = knownMethod(bytes, i) && i + 1 < lineEnd && bytes[i + 1] == UInt8(ascii: "/")
        guard lineEnd >= version.count + 1 else { return simple }
        let start = lineEnd - version.count - 1
        return (0..<version.count).allSatisfy { bytes[start + $0] == version[$0] } || simple
    }

    /// True when `bytes` begin like an HTTP/1.x status line ("HTTP/1.1 200").
    public static func startsLikeResponse(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let prefix = Array("HTTP/1.".utf8)
        let n = min(prefix.count, bytes.count)
        return n >= 4 && (0..<n).allSatisfy { bytes[$0] == prefix[$0] }
    }

    /// The value of the first field called `name` (lowercase).
    public func field(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// True when a field called `name` lists `token` (comma-separated, case-insensitive).
    public func lists(_ name: String, _ token: String) -> Bool {
        fields.contains { f in
            f.name == name && f.value.split(separator: ",").contains { HTTP1Head.trimmed(String($0)).lowercased() == token }
        }
    }

    public var statusCode: Int? { if case .response(let s) = startLine { return s }; return nil }
    public var method: String? { if case .request(let m, _) = startLine { return m }; return nil }
    public var target: String? { if case .request(_, let t) = startLine { return t }; return nil }
    /// The Content-Length of a message with a body of known length, 0 without one.
    public var contentLength: Int? {
        guard let v = field("content-length") else { return 0 }
        return Int(v).flatMap { $0 >= 0 ? $0 : nil }
    }

    private static func startsLikeHTTP1(_ bytes: UnsafeRawBufferPointer) -> Bool {
        startsLikeRequest(bytes) || startsLikeResponse(bytes)
    }

    /// The offset of the CRLF CRLF that ends the head, if it is within `limit` bytes.
    private static func headEnd(_ b: UnsafeRawBufferPointer, limit: Int) -> Int? {
        let n = min(b.count, limit + 4)
        var i = 0
        while i + 3 < n {
            if b[i] == 0x0D && b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    private static func firstCRLF(_ b: UnsafeRawBufferPointer, limit: Int) -> Int? {
        var i = 0
        while i + 1 < min(b.count, limit) {
            if b[i] == 0x0D && b[i + 1] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    private static let methods = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"].map { Array($0.utf8) }

    private static func knownMethod(_ b: UnsafeRawBufferPointer, _ length: Int) -> Bool {
        methods.contains { m in m.count == length && (0..<length).allSatisfy { b[$0] == m[$0] } }
    }

    /// RFC 9110 §5.6.2 tchar.
    private static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }

    private static func isToken(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy(isTokenByte) }

    private static func trimmed(_ s: String) -> String {
        var v = Substring(s)
        while let c = v.first, c == " " || c == "\t" { v = v.dropFirst() }
        while let c = v.last, c == " " || c == "\t" { v = v.dropLast() }
        return String(v)
    }

    /// The SETTINGS payload an h2c upgrade request carries in its HTTP2-Settings field
    /// (base64url without padding, RFC 7540 §3.2.1); nil when it does not decode.
    public static func upgradeSettings(_ value: String) -> [HTTP2Setting]? {
        var bits = 0, buffer = 0
        var bytes: [UInt8] = []
        for c in value.utf8 {
            let v: Int
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = Int(c) - 65
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = Int(c) - 71
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(c) + 4
            case UInt8(ascii: "-"), UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            buffer = (buffer << 6 | v) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((buffer >> bits) & 0xFF))
            }
        }
        guard bytes.count % 6 == 0 else { return nil }
        var settings: [HTTP2Setting] = []
        var i = 0
        while i + 6 <= bytes.count {
            let id = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
            var v: UInt32 = 0
            for k in 2..<6 { v = v << 8 | UInt32(bytes[i + k]) }
            settings.append(HTTP2Setting(HTTP2SettingIdentifier(id), v))
            i += 6
        }
        return settings
    }
}
