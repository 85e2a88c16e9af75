/// MPLS label stack (RFC 3032), Ethernet types 0x8847/0x8848, also inside GRE.
///
///     each label entry (4): label 20 | traffic class 3 | S (bottom of stack) 1 | TTL 8
///
/// The stack carries no protocol field: after the bottom label the first nibble tells, as
/// tcpdump and Wireshark guess it: 4 IPv4, 6 IPv6, 0 a pseudowire control word (RFC 4385,
/// 4 bytes) followed by an Ethernet frame. Anything else is not decoded further (no IP).
/// The walk ends at the bottom-of-stack bit; every label consumes 4 bytes, so it ends.
enum MPLS {
    static func decode(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        var off = offset
        while true {
            guard b.has(4, at: off) else { DecodeProblem.record(.truncated(layer: "mpls"), in: &p); return }
            let bottom = b[off &+ 2] & 0x01 != 0
            off &+= 4
            if bottom { break }
        }
        guard b.has(1, at: off) else { DecodeProblem.record(.truncated(layer: "mpls"), in: &p); return }
        switch b[off] >> 4 {
        case 4: p.etherType = .ipv4; IPv4.decode(ctx, at: off, into: &p)
        case 6: p.etherType = .ipv6; IPv6.decode(ctx, at: off, into: &p)
        case 0: Ethernet.decodeFrame(ctx, at: off &+ 4, into: &p)
        default: break
        }
    }
}
