/// IPv4 (RFC 791).
///
///     0 version 4 | IHL 4 | 1 DSCP/ECN | 2 total length (2) | 4 identification (2)
///     | 6 flags 3 (reserved, DF, MF) + fragment offset 13 | 8 TTL | 9 protocol | 10 checksum (2)
///     | 12 source (4) | 16 destination (4) | 20 options up to IHL*4
///
/// The packet ends at min(total length, captured); Ethernet padding after it is ignored. A total
/// length of 0 is what Linux shows for TSO/GSO sends and BIG TCP: the packet then ends at the
/// frame's wire length. A non-first fragment carries no transport header and is not decoded
/// further. The checksum is not verified (offload leaves outgoing checksums unset).
enum IPv4 {
    static let minimumHeaderLength = 20

    static func decode(_ ctx: DecodeContext, at start: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(1, at: start) else { DecodeProblem.record(.truncated(layer: "ipv4"), in: &p); return }
        guard b[start] >> 4 == 4 else {
            DecodeProblem.record(.invalid(layer: "ipv4", reason: "IP version is not 4"), in: &p); return
        }
        let headerLength = Int(b[start] & 0x0F) &* 4
        guard headerLength >= minimumHeaderLength else {
            DecodeProblem.record(.invalid(layer: "ipv4", reason: "header length (IHL) below 5"), in: &p); return
        }
        guard b.has(minimumHeaderLength, at: start) else {
            DecodeProblem.record(.truncated(layer: "ipv4"), in: &p); return
        }
        let claimedLength = Int(b.u16(start &+ 2))
        let fragment = b.u16(start &+ 6)
        let fragmentOffset = fragment & 0x1FFF
        let moreFragments = fragment & 0x2000 != 0
        let end: Int
        if claimedLength == 0 {
            end = max(ctx.wireEnd, start &+ headerLength)
        } else {
            guard claimedLength >= headerLength else {
                DecodeProblem.record(.invalid(layer: "ipv4", reason: "total length below header length"), in: &p)
                return
            }
            end = start &+ claimedLength
        }
        let proto = b[start &+ 9]
        p.ip = IPHeader(version: 4,
                        source: IPAddress(v4: b, at: start &+ 12),
                        destination: IPAddress(v4: b, at: start &+ 16),
                        protocolNumber: proto,
                        ttl: b[start &+ 8],
                        totalLength: end &- start,
                        payloadOffset: start &+ headerLength,
                        isLaterFragment: fragmentOffset != 0,
                        isFragment: moreFragments || fragmentOffset != 0)
        guard b.has(headerLength, at: start) else {
            DecodeProblem.record(.truncated(layer: "ipv4"), in: &p); return
        }
        guard fragmentOffset == 0 else { return }
        PacketDecoder.decodeTransport(ctx, protocolNumber: proto, at: start &+ headerLength, end: end, into: &p)
    }
}
