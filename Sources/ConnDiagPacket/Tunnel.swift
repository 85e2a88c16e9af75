/// Tunnels carried by IP: IP-in-IP (protocol 4, 41: 4in4, 6in4 "sit", 4in6, 6in6), GRE
/// (protocol 47) with what it carries (IP, MPLS, Ethernet "gretap", ERSPAN, PPTP's PPP),
/// the UDP overlays VXLAN (RFC 7348, port 4789, Linux's old default 8472) and Geneve
/// (RFC 8926, port 6081), and MPLS over UDP (RFC 7510, port 6635). Each hop enters one more `DecodeContext` level, so nesting is
/// bounded. The packet's `ip`/`transport` end up as the innermost ones decoded; a tunnel
/// whose inner packet is not IP leaves the outer IP and its protocol (UDP, GRE) in place.
enum Tunnel {
    static let vxlanPort: UInt16 = 4789
    static let vxlanLinuxPort: UInt16 = 8472
    static let genevePort: UInt16 = 6081
    static let mplsPort: UInt16 = 6635

    /// IP protocols 4, 41 and 47 starting at `offset` (the outer IP header's payload).
    static func decodeIPPayload(_ ctx: DecodeContext, protocolNumber: UInt8, at offset: Int, end: Int,
                                into p: inout DecodedPacket) {
        guard let inner = ctx.entering(into: &p) else { return }
        switch protocolNumber {
        case IPProtocol.ipInIP: p.etherType = .ipv4; IPv4.decode(inner, at: offset, into: &p)
        case IPProtocol.ipv6InIP: p.etherType = .ipv6; IPv6.decode(inner, at: offset, into: &p)
        default: GRE.decode(inner, at: offset, into: &p)
        }
    }

    /// UDP (RFC 768: source port, destination port, length, checksum; 8 bytes). Only the
    /// overlay ports are looked into, by destination port as tshark does (Linux picks the
    /// source port from a hash of the inner flow). A UDP header cut short is left alone:
    /// UDP is not decoded otherwise.
    static func decodeUDP(_ ctx: DecodeContext, at offset: Int, end: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(8, at: offset) else { return }
        let port = b.u16(offset &+ 2)
        guard port == vxlanPort || port == vxlanLinuxPort || port == genevePort || port == mplsPort else { return }
        guard let inner = ctx.entering(into: &p) else { return }
        let start = offset &+ 8
        switch port {
        case genevePort: decodeGeneve(inner, at: start, into: &p)
        case mplsPort: MPLS.decode(inner, at: start, into: &p)  // the label stack follows the UDP header
        default: decodeVXLAN(inner, at: start, into: &p)
        }
    }

    /// VXLAN: flags (1, I = 0x08: VNI valid) | reserved (3) | VNI (3) | reserved (1), then an
    /// Ethernet frame.
    static func decodeVXLAN(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        guard ctx.bytes.has(8, at: offset) else { DecodeProblem.record(.truncated(layer: "vxlan"), in: &p); return }
        Ethernet.decodeFrame(ctx, at: offset &+ 8, into: &p)
    }

    /// Geneve: version 2 | options length 6 (4-byte words) | 1 O, C flags | 2 protocol type (2)
    /// | 4 VNI (3) | 7 reserved, then the options (skipped) and the payload of that protocol
    /// type (an Ethernet type; 0x6558 an Ethernet frame).
    static func decodeGeneve(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(8, at: offset) else { DecodeProblem.record(.truncated(layer: "geneve"), in: &p); return }
        guard b[offset] >> 6 == 0 else {
            DecodeProblem.record(.invalid(layer: "geneve", reason: "unknown Geneve version"), in: &p); return
        }
        let headerLength = 8 &+ Int(b[offset] & 0x3F) &* 4
        guard b.has(headerLength, at: offset) else { DecodeProblem.record(.truncated(layer: "geneve"), in: &p); return }
        dispatchPayload(ctx, protocolType: b.u16(offset &+ 2), at: offset &+ headerLength, into: &p)
    }

    /// A payload named by an Ethernet type (GRE, Geneve): an Ethernet frame for 0x6558,
    /// otherwise what that type says (IP, MPLS, ...).
    static func dispatchPayload(_ ctx: DecodeContext, protocolType: UInt16, at offset: Int, into p: inout DecodedPacket) {
        if protocolType == EtherType.transparentEthernet.rawValue {
            Ethernet.decodeFrame(ctx, at: offset, into: &p)
        } else {
            Ethernet.dispatch(ctx, etherType: protocolType, at: offset, into: &p)
        }
    }
}

/// GRE (RFC 2784 with RFC 2890's key and sequence number; RFC 2637's enhanced GRE, version 1).
///
///     0 C 1 | R 1 | K 1 | S 1 | s 1 | recur 3 | 1 A 1 | flags 4 | version 3 | 2 protocol type (2)
///     then checksum + reserved (4) if C or R, key (4) if K, sequence (4) if S,
///     acknowledgment (4) if A (version 1 only)
///
/// The protocol type is an Ethernet type; 0x88BE is ERSPAN type II (with S) or type I
/// (without S: the frame follows at once), 0x22EB ERSPAN type III, 0x880B PPP (PPTP).
/// Source routing (R, RFC 1701) is obsolete and not followed.
enum GRE {
    static let pppProtocol: UInt16 = 0x880B

    static func decode(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(4, at: offset) else { DecodeProblem.record(.truncated(layer: "gre"), in: &p); return }
        let flags = b[offset], version = b[offset &+ 1] & 0x07
        let proto = b.u16(offset &+ 2)
        guard version <= 1 else { DecodeProblem.record(.invalid(layer: "gre", reason: "unknown GRE version"), in: &p); return }
        guard flags & 0x40 == 0 else { return }  // source routing: not followed
        var length = 4
        if flags & 0x80 != 0 { length &+= 4 }
        if flags & 0x20 != 0 { length &+= 4 }
        let hasSequence = flags & 0x10 != 0
        if hasSequence { length &+= 4 }
        if version == 1 && b[offset &+ 1] & 0x80 != 0 { length &+= 4 }
        guard b.has(length, at: offset) else { DecodeProblem.record(.truncated(layer: "gre"), in: &p); return }
        let start = offset &+ length
        switch proto {
        case pppProtocol:
            PPPoE.decodePPP(ctx, at: start, into: &p)
        case EtherType.erspanII.rawValue:
            if hasSequence {
                // ERSPAN II: version 4 | VLAN 12 | COS 3 | En 2 | T 1 | session 10 | reserved 12 | index 20
                guard b.has(8, at: start) else { DecodeProblem.record(.truncated(layer: "erspan"), in: &p); return }
                Ethernet.decodeFrame(ctx, at: start &+ 8, into: &p)
            } else {
                Ethernet.decodeFrame(ctx, at: start, into: &p)  // ERSPAN I: no header
            }
        case EtherType.erspanIII.rawValue:
            decodeERSPAN3(ctx, at: start, into: &p)
        default:
            Tunnel.dispatchPayload(ctx, protocolType: proto, at: start, into: &p)
        }
    }

    /// ERSPAN III: version 4 | VLAN 12 | COS 3 | BSO 2 | T 1 | session 10 | timestamp (4)
    /// | SGT (2) | P 1 | FT 5 | hardware id 6 | D 1 | Gra 2 | O 1, then an 8-byte
    /// platform-specific subheader when O is set. Frame type 0 is Ethernet, 2 is IP.
    static func decodeERSPAN3(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(12, at: offset) else { DecodeProblem.record(.truncated(layer: "erspan"), in: &p); return }
        let frameType = (b[offset &+ 10] >> 2) & 0x1F
        let start = offset &+ (b[offset &+ 11] & 0x01 != 0 ? 20 : 12)
        switch frameType {
        case 0:
            Ethernet.decodeFrame(ctx, at: start, into: &p)
        case 2:
            guard b.has(1, at: start) else { DecodeProblem.record(.truncated(layer: "erspan"), in: &p); return }
            switch b[start] >> 4 {
            case 4: p.etherType = .ipv4; IPv4.decode(ctx, at: start, into: &p)
            case 6: p.etherType = .ipv6; IPv6.decode(ctx, at: start, into: &p)
            default: DecodeProblem.record(.invalid(layer: "erspan", reason: "IP version is neither 4 nor 6"), in: &p)
            }
        default:
            DecodeProblem.record(.invalid(layer: "erspan", reason: "frame type is neither Ethernet nor IP"), in: &p)
        }
    }
}
