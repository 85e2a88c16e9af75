/// PPPoE session stage (RFC 2516), Ethernet type 0x8864, and the PPP protocol field after it
/// (RFC 1661), which also follows enhanced GRE (PPTP).
///
///     0 version 4 | type 4 | 1 code | 2 session id (2) | 4 length (2) | 6 PPP protocol (2 or 1)
///
/// PPP protocol 0x0021 is IPv4, 0x0057 IPv6; others (LCP, IPCP, ...) carry no IP. With
/// protocol-field compression the field is one odd byte (RFC 1661 §6.5).
enum PPPoE {
    static let headerLength = 6

    static func decodeSession(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        guard ctx.bytes.has(headerLength, at: offset) else { DecodeProblem.record(.truncated(layer: "pppoe"), in: &p); return }
        decodePPP(ctx, at: offset &+ headerLength, into: &p)
    }

    static func decodePPP(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(1, at: offset) else { DecodeProblem.record(.truncated(layer: "ppp"), in: &p); return }
        let proto: UInt16, start: Int
        if b[offset] & 0x01 != 0 {
            proto = UInt16(b[offset]); start = offset &+ 1
        } else {
            guard b.has(2, at: offset) else { DecodeProblem.record(.truncated(layer: "ppp"), in: &p); return }
            proto = b.u16(offset); start = offset &+ 2
        }
        switch proto {
        case 0x0021: p.etherType = .ipv4; IPv4.decode(ctx, at: start, into: &p)
        case 0x0057: p.etherType = .ipv6; IPv6.decode(ctx, at: start, into: &p)
        default: break
        }
    }
}
