/// LINKTYPE_NFLOG (239): what `iptables -j NFLOG` hands to a capture on `nflog:N`
/// (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html).
///
///     0 address family (AF_INET 2, AF_INET6 10) | 1 version (0) | 2 resource id (2, big-endian)
///     4 TLVs: length (2) | type (2) | value, length includes the 4-byte header,
///       each TLV padded to a multiple of 4
///
/// The TLV header is in the capturing host's byte order (libpcap swaps it for files of the
/// other order; a file read in place may still hold it swapped: a length that does not fit
/// is read the other way round). The packet is the value of NFULA_PAYLOAD (type 9): an IP
/// packet without a link header.
enum NFLOG {
    static let headerLength = 4
    static let payloadType: UInt16 = 9

    static func decode(_ ctx: DecodeContext, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(headerLength, at: 0) else { p.problem = .truncated(layer: "nflog"); return }
        let family = b[0]
        var off = headerLength
        while b.has(4, at: off) {
            var length = Int(b.loadUnaligned(fromByteOffset: off, as: UInt16.self).littleEndian)
            var type = b.loadUnaligned(fromByteOffset: off &+ 2, as: UInt16.self).littleEndian
            if length < 4 || !b.has(length, at: off) {
                length = Int(b.u16(off)); type = b.u16(off &+ 2)
            }
            guard length >= 4 else { p.problem = .invalid(layer: "nflog", reason: "TLV length below 4"); return }
            // The top two bits are netlink attribute flags (nested, network byte order).
            if type & 0x3FFF == payloadType {
                let start = off &+ 4
                switch family {
                case 2: p.etherType = .ipv4; IPv4.decode(ctx, at: start, into: &p)
                case 10: p.etherType = .ipv6; IPv6.decode(ctx, at: start, into: &p)
                default: break   // another family: not IP
                }
                return
            }
            off &+= (length &+ 3) & ~3
        }
        // No payload TLV: a log message without the packet (nflog may be configured so).
        if off < b.count { p.problem = .truncated(layer: "nflog") }
    }
}
