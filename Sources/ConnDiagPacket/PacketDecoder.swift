/// Entry point: decode one captured packet of the given link type, tcpdump style: the link
/// decoder (Ethernet.swift, LinuxSLL.swift, or the loopback/raw cases here) hands the network
/// layer to IPv4.swift / IPv6.swift, which hand the transport to TCP.swift / ICMP.swift.
///
/// Every read is bounds-checked and no input traps. A decoder that runs out of captured bytes
/// sets `problem = .truncated(layer:)`, an impossible field sets `.invalid(layer:reason:)`;
/// the layers decoded before that stay in the result (check `problem` before trusting a
/// layer that could only be decoded partly, e.g. a TCP segment whose options were cut).
/// Only the first problem is kept. Nothing on this path allocates.
public enum PacketDecoder {
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: LinkType) -> DecodedPacket {
        decode(bytes, linkType: linkType, wireLength: 0)
    }

    /// `wireLength` is the frame's length on the wire (pcap_pkthdr.len). It is only used when
    /// an IP header carries length 0, as Linux shows for TSO/GSO sends and BIG TCP: the
    /// packet then ends at `wireLength` (or at the captured end when that is larger).
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: LinkType, wireLength: Int) -> DecodedPacket {
        var p = DecodedPacket(linkType: linkType)
        decode(bytes, linkType: linkType, wireLength: wireLength, into: &p)
        return p
    }

    /// The same decoding into `p` (whatever it held is replaced): the per-packet path of
    /// `analyze` decodes into one reused value instead of copying the decoded packet (a few
    /// hundred bytes) out of each call.
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: LinkType, wireLength: Int, into p: inout DecodedPacket) {
        p = DecodedPacket(linkType: linkType)
        let ctx = DecodeContext(bytes: bytes, wireEnd: max(wireLength, bytes.count), depth: 0)
        switch linkType {
        case .ethernet:
            Ethernet.decode(ctx, into: &p)
        case .linuxSLL:
            LinuxSLL.decodeSLL(ctx, into: &p)
        case .linuxSLL2:
            LinuxSLL.decodeSLL2(ctx, into: &p)
        case .raw, .rawLinktype:
            guard bytes.count >= 1 else { p.problem = .truncated(layer: "ip"); return }
            switch bytes[0] >> 4 {
            case 4: p.etherType = .ipv4; IPv4.decode(ctx, at: 0, into: &p)
            case 6: p.etherType = .ipv6; IPv6.decode(ctx, at: 0, into: &p)
            default: p.problem = .invalid(layer: "ip", reason: "IP version is neither 4 nor 6")
            }
        case .ipv4:
            p.etherType = .ipv4
            IPv4.decode(ctx, at: 0, into: &p)
        case .ipv6:
            p.etherType = .ipv6
            IPv6.decode(ctx, at: 0, into: &p)
        case .null, .loop:
            decodeLoopback(ctx, networkOrder: linkType == .loop, into: &p)
        case .nflog:
            NFLOG.decode(ctx, into: &p)
        default:
            // The engine names the link type (`LinkType.linktypeName`): the reason stays static.
            p.problem = .invalid(layer: "link", reason: "unsupported link type")
        }
    }

    /// Convenience for tests and tools: decode bytes held in an array.
    public static func decode(_ bytes: [UInt8], linkType: LinkType, wireLength: Int = 0) -> DecodedPacket {
        bytes.withUnsafeBytes { decode($0, linkType: linkType, wireLength: wireLength) }
    }

    /// BSD loopback (NULL: 4-byte address family in the capturing host's byte order) and
    /// OpenBSD LOOP (network byte order). AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
    /// OpenBSD), 28 (FreeBSD) or 30 (Darwin). Another family is not an error: just no IP.
    static func decodeLoopback(_ ctx: DecodeContext, networkOrder: Bool, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.count >= 4 else { p.problem = .truncated(layer: networkOrder ? "loop" : "null"); return }
        var family: UInt32
        if networkOrder {
            family = b.u32(0)
        } else {
            family = b.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            // The file may come from a host of the other byte order (libpcap does not swap
            // this header); a family never has bits in the upper half, so swap if it does.
            if family & 0xFFFF_0000 != 0 { family = family.byteSwapped }
        }
        switch family {
        case 2:
            p.etherType = .ipv4
            IPv4.decode(ctx, at: 4, into: &p)
        case 24, 28, 30:
            p.etherType = .ipv6
            IPv6.decode(ctx, at: 4, into: &p)
        default:
            break
        }
    }

    /// Hands the upper-layer protocol to its decoder. `end` is where the IP header says the
    /// packet ends (may be beyond the captured bytes).
    static func decodeTransport(_ ctx: DecodeContext, protocolNumber: UInt8, at offset: Int, end: Int,
                                into p: inout DecodedPacket) {
        switch protocolNumber {
        case IPProtocol.tcp: TCP.decode(ctx, at: offset, end: end, into: &p)
        case IPProtocol.icmp: ICMP.decode(ctx, version: 4, at: offset, end: end, into: &p)
        case IPProtocol.icmpv6: ICMP.decode(ctx, version: 6, at: offset, end: end, into: &p)
        case IPProtocol.udp:
            p.transport = .other(protocolNumber: protocolNumber)
            Tunnel.decodeUDP(ctx, at: offset, end: end, into: &p)
        case IPProtocol.ipInIP, IPProtocol.ipv6InIP, IPProtocol.gre:
            p.transport = .other(protocolNumber: protocolNumber)
            Tunnel.decodeIPPayload(ctx, protocolNumber: protocolNumber, at: offset, end: end, into: &p)
        default: p.transport = .other(protocolNumber: protocolNumber)
        }
    }
}

/// IP protocol numbers the decoders look at.
enum IPProtocol {
    static let hopByHop: UInt8 = 0
    static let icmp: UInt8 = 1
    static let ipInIP: UInt8 = 4          // IPv4 inside (RFC 2003)
    static let tcp: UInt8 = 6
    static let udp: UInt8 = 17
    static let dccp: UInt8 = 33
    static let ipv6InIP: UInt8 = 41       // IPv6 inside (6in4 "sit", RFC 4213; 6in6)
    static let gre: UInt8 = 47
    static let routing: UInt8 = 43
    static let fragment: UInt8 = 44
    static let esp: UInt8 = 50
    static let ah: UInt8 = 51
    static let icmpv6: UInt8 = 58
    static let noNextHeader: UInt8 = 59
    static let destinationOptions: UInt8 = 60
    static let sctp: UInt8 = 132
    static let udpLite: UInt8 = 136
    /// Protocols whose header starts with 16-bit source and destination ports.
    static func hasPorts(_ p: UInt8) -> Bool {
        p == tcp || p == udp || p == dccp || p == sctp || p == udpLite
    }
}

/// What every decoder needs: the captured bytes and where the frame really ended on the wire.
struct DecodeContext {
    let bytes: UnsafeRawBufferPointer
    /// max(pcap wire length, captured length): the end to use when an IP length is 0 (TSO).
    let wireEnd: Int
    /// Encapsulations entered so far (tunnels, MPLS, PPPoE): bounds the recursion, since a
    /// crafted packet could nest IP-in-IP thousands of times within one snapshot length.
    let depth: Int
    static let maximumDepth = 8

    /// The context for one more encapsulation level, or nil (and a problem recorded) when
    /// the packet nests deeper than `maximumDepth`.
    @inline(__always)
    func entering(into p: inout DecodedPacket) -> DecodeContext? {
        guard depth < DecodeContext.maximumDepth else {
            DecodeProblem.record(.invalid(layer: "tunnel", reason: "more than 8 nested encapsulations"), in: &p)
            return nil
        }
        p.encapsulationDepth &+= 1
        return DecodeContext(bytes: bytes, wireEnd: wireEnd, depth: depth &+ 1)
    }
}

extension DecodeProblem {
    /// Records a problem unless an earlier (outer) layer already did.
    @inline(__always)
    static func record(_ problem: DecodeProblem, in p: inout DecodedPacket) {
        if p.problem == nil { p.problem = problem }
    }
}

// Bounds-checked reads. Callers check `has(_:at:)` first; the helpers themselves do not.
extension UnsafeRawBufferPointer {
    /// True when `n` bytes starting at `offset` are inside the buffer.
    @inline(__always)
    func has(_ n: Int, at offset: Int) -> Bool {
        offset >= 0 && n >= 0 && offset <= count &- n
    }
    @inline(__always)
    func u16(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset &+ 1])
    }
    @inline(__always)
    func u32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset &+ 1]) << 16
            | UInt32(self[offset &+ 2]) << 8 | UInt32(self[offset &+ 3])
    }
}
