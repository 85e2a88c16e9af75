/// Reads the netlink messages of a sock_diag dump (one recv() may hold many). Lengths come
/// from the wire and are never trusted: a message shorter than its header, longer than the
/// bytes left, or an attribute that overruns its message ends the batch as `.invalid(reason)`
/// instead of reading past the end.
public enum SockDiagParser {
    public enum Message: Equatable, Sendable {
        case socket(SockDiagSocket)
        /// NLMSG_DONE: the dump is complete.
        case done
        /// NLMSG_ERROR with a negative errno (0 is an ACK and is skipped).
        case error(errno: Int32)
        case invalid(String)
    }

    static let headerLength = 16
    static let diagMessageLength = 72
    static let nlmsgError: UInt16 = 2
    static let nlmsgDone: UInt16 = 3
    static let nlmsgNoop: UInt16 = 1
    static let attributeInfo: UInt16 = 2
    static let attributeCongestion: UInt16 = 4

    /// Every message in `bytes`, in order; stops after `.done`, `.error` or `.invalid`.
    public static func parse(_ bytes: [UInt8]) -> [Message] {
        var out: [Message] = []
        var offset = 0
        while offset < bytes.count {
            let rest = ByteReader(bytes[offset...])
            guard rest.count >= headerLength else { out.append(.invalid("\(rest.count) trailing bytes, shorter than a netlink header")); break }
            let length = Int(rest.u32(0)), type = rest.u16(4)
            guard length >= headerLength else { out.append(.invalid("netlink message length \(length) < 16")); break }
            guard length <= rest.count else { out.append(.invalid("netlink message length \(length) > \(rest.count) bytes left")); break }
            let payload = ByteReader(rest.slice(headerLength, length - headerLength))
            switch type {
            case nlmsgDone:
                out.append(.done); return out
            case nlmsgError:
                guard payload.count >= 4 else { out.append(.invalid("NLMSG_ERROR without an error code")); return out }
                let code = Int32(bitPattern: payload.u32(0))
                // A negative errno; anything else (a positive code, Int32.min) is not one.
                if code > 0 || code == Int32.min { out.append(.invalid("NLMSG_ERROR code \(code) is not a negative errno")); return out }
                if code != 0 { out.append(.error(errno: -code)); return out }
            case nlmsgNoop:
                break
            case 20:  // SOCK_DIAG_BY_FAMILY
                let m = diagMessage(payload)
                out.append(m)
                if case .invalid = m { return out }
            default:
                out.append(.invalid("unexpected netlink message type \(type)")); return out
            }
            // NLMSG_ALIGN: the next message starts on a 4-byte boundary (the last may be unpadded).
            offset += min((length + 3) & ~3, rest.count)
        }
        return out
    }

    /// struct inet_diag_msg, then its rtattr list.
    static func diagMessage(_ p: ByteReader) -> Message {
        guard p.count >= diagMessageLength else { return .invalid("inet_diag_msg of \(p.count) bytes < 72") }
        let family = p.u8(0)
        guard family == 2 || family == 10 else { return .invalid("inet_diag_msg family \(family) is neither AF_INET nor AF_INET6") }
        let addressLength = family == 2 ? 4 : 16
        var s = SockDiagSocket(
            family: family, state: TCPState(rawValue: p.u8(1)), timer: SockDiagTimer(rawValue: p.u8(2)),
            timerRetransmits: p.u8(3), expiresMs: p.u32(52),
            localAddress: Array(p.slice(8, addressLength)), localPort: p.be16(4),
            remoteAddress: Array(p.slice(24, addressLength)), remotePort: p.be16(6),
            interface: p.u32(40), cookie: p.u64(44), receiveQueue: p.u32(56), sendQueue: p.u32(60),
            uid: p.u32(64), inode: p.u32(68))
        var offset = diagMessageLength
        while offset + 4 <= p.count {
            let length = Int(p.u16(offset)), type = p.u16(offset + 2) & 0x3fff
            guard length >= 4 else { return .invalid("attribute length \(length) < 4") }
            guard offset + length <= p.count else { return .invalid("attribute \(type) of \(length) bytes overruns its message") }
            let value = ByteReader(p.slice(offset + 4, length - 4))
            switch type {
            case attributeInfo:
                guard let info = TCPInfoFields(value) else { return .invalid("INET_DIAG_INFO of \(value.count) bytes < \(TCPInfoFields.minimumLength)") }
                s.info = info
            case attributeCongestion:
                let name = value.bytes.prefix { $0 != 0 }
                guard name.count <= 16, name.allSatisfy({ $0 >= 0x21 && $0 < 0x7f }) else { return .invalid("INET_DIAG_CONG is not a name") }
                s.congestion = String(decoding: name, as: UTF8.self)
            default:
                break  // attributes inspect does not ask for are skipped by their length
            }
            offset += (length + 3) & ~3
        }
        return .socket(s)
    }
}
