/// Ethernet II (DLT_EN10MB), including Linux `lo` (all-zero MACs, same format) and
/// 802.1Q / 802.1ad VLAN tags, possibly stacked (QinQ). The Ethernet types that carry IP
/// inside another header (MPLS, PPPoE session, transparent Ethernet bridging) go on to
/// their decoders (MPLS.swift, PPPoE.swift).
///
///     0        6        12     14
///     | dst MAC | src MAC | type | payload...
///     VLAN tag: type 0x8100/0x88A8/0x9100, then TCI (PCP 3 | DEI 1 | VID 12), then inner type.
enum Ethernet {
    static let headerLength = 14

    static func decode(_ ctx: DecodeContext, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(headerLength, at: 0) else { p.problem = .truncated(layer: "ethernet"); return }
        dispatch(ctx, etherType: b.u16(12), at: headerLength, into: &p)
    }

    /// Follows VLAN tags from `offset` (where the payload of `etherType` starts) and hands IPv4
    /// and IPv6 to their decoders. Shared with Linux SLL/SLL2, whose protocol field is an
    /// Ethernet type too. Non-IP types (ARP, LLDP, ...) are not an error: the packet just has
    /// no IP layer. Values below 0x0600 are 802.3 lengths (LLC follows): also no IP.
    static func dispatch(_ ctx: DecodeContext, etherType: UInt16, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        var type = etherType
        var off = offset
        while EtherType(rawValue: type).isVLANTag {
            guard b.has(4, at: off) else { p.problem = .truncated(layer: "vlan"); return }
            if p.vlanID == nil { p.vlanID = b.u16(off) & 0x0FFF }
            type = b.u16(off &+ 2)
            off &+= 4
        }
        guard type >= 0x0600 else { return }
        p.etherType = EtherType(rawValue: type)
        switch type {
        case EtherType.ipv4.rawValue: IPv4.decode(ctx, at: off, into: &p)
        case EtherType.ipv6.rawValue: IPv6.decode(ctx, at: off, into: &p)
        case EtherType.mplsUnicast.rawValue, EtherType.mplsMulticast.rawValue:
            guard let inner = ctx.entering(into: &p) else { return }
            MPLS.decode(inner, at: off, into: &p)
        case EtherType.pppoeSession.rawValue:
            guard let inner = ctx.entering(into: &p) else { return }
            PPPoE.decodeSession(inner, at: off, into: &p)
        case EtherType.transparentEthernet.rawValue:
            guard let inner = ctx.entering(into: &p) else { return }
            decodeFrame(inner, at: off, into: &p)
        default: break
        }
    }

    /// An Ethernet frame starting at `offset` inside another packet (GRE 0x6558, VXLAN,
    /// Geneve, ERSPAN, an MPLS pseudowire).
    static func decodeFrame(_ ctx: DecodeContext, at offset: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(headerLength, at: offset) else { DecodeProblem.record(.truncated(layer: "ethernet"), in: &p); return }
        dispatch(ctx, etherType: b.u16(offset &+ 12), at: offset &+ headerLength, into: &p)
    }
}

/// An Ethernet type / SLL protocol value (open: unknown values still print).
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let vlan = EtherType(rawValue: 0x8100)      // 802.1Q customer tag
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    public static let qinq = EtherType(rawValue: 0x88A8)      // 802.1ad service tag
    public static let qinqLegacy = EtherType(rawValue: 0x9100) // pre-standard QinQ
    public static let lldp = EtherType(rawValue: 0x88CC)
    public static let mplsUnicast = EtherType(rawValue: 0x8847)
    public static let mplsMulticast = EtherType(rawValue: 0x8848)
    public static let pppoeDiscovery = EtherType(rawValue: 0x8863)
    public static let pppoeSession = EtherType(rawValue: 0x8864)
    /// An Ethernet frame follows (GRE "gretap", Geneve, NVGRE).
    public static let transparentEthernet = EtherType(rawValue: 0x6558)
    /// GRE protocol types of ERSPAN (not Ethernet types proper, but from the same registry).
    public static let erspanII = EtherType(rawValue: 0x88BE)
    public static let erspanIII = EtherType(rawValue: 0x22EB)

    /// 802.1Q, 802.1ad and the old 0x9100 QinQ tag.
    public var isVLANTag: Bool { self == .vlan || self == .qinq || self == .qinqLegacy }

    public var description: String {
        switch self {
        case .ipv4: return "IPv4"
        case .arp: return "ARP"
        case .vlan: return "802.1Q"
        case .ipv6: return "IPv6"
        case .qinq: return "802.1ad"
        case .qinqLegacy: return "QinQ"
        case .lldp: return "LLDP"
        case .mplsUnicast, .mplsMulticast: return "MPLS"
        case .pppoeDiscovery: return "PPPoE discovery"
        case .pppoeSession: return "PPPoE session"
        case .transparentEthernet: return "transparent Ethernet bridging"
        case .erspanII: return "ERSPAN II"
        case .erspanIII: return "ERSPAN III"
        default:
            let h = String(rawValue, radix: 16)
            return "ethertype 0x" + String(repeating: "0", count: max(0, 4 - h.count)) + h
        }
    }
}
