/// Linux cooked captures ("any" device and friends).
///
/// SLL (LINKTYPE_LINUX_SLL, 113), 16 bytes:
///     0 packet type (2) | 2 ARPHRD type (2) | 4 address length (2) | 6 address (8) | 14 protocol (2)
/// SLL2 (LINKTYPE_LINUX_SLL2, 276), 20 bytes:
///     0 protocol (2) | 2 reserved (2) | 4 interface index (4) | 8 ARPHRD type (2)
///     | 10 packet type (1) | 11 address length (1) | 12 address (8)
/// The protocol is an Ethernet type (VLAN tags may follow when libpcap re-inserted them),
/// except for netlink captures (ARPHRD_NETLINK), where it is a netlink family.
enum LinuxSLL {
    static let sllHeaderLength = 16
    static let sll2HeaderLength = 20
    static let arphrdNetlink: UInt16 = 824

    static func decodeSLL(_ ctx: DecodeContext, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(sllHeaderLength, at: 0) else { p.problem = .truncated(layer: "sll"); return }
        p.linuxPacketType = LinuxPacketType(rawValue: b.u16(0))
        guard b.u16(2) != arphrdNetlink else { return }
        Ethernet.dispatch(ctx, etherType: b.u16(14), at: sllHeaderLength, into: &p)
    }

    static func decodeSLL2(_ ctx: DecodeContext, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(sll2HeaderLength, at: 0) else { p.problem = .truncated(layer: "sll2"); return }
        p.interfaceIndex = b.u32(4)
        p.linuxPacketType = LinuxPacketType(rawValue: UInt16(b[10]))
        guard b.u16(8) != arphrdNetlink else { return }
        Ethernet.dispatch(ctx, etherType: b.u16(0), at: sll2HeaderLength, into: &p)
    }
}

/// The Linux packet type of a cooked capture (PACKET_HOST, ... in <linux/if_packet.h>):
/// which way the packet went, as seen by the capturing host.
public struct LinuxPacketType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let host = LinuxPacketType(rawValue: 0)       // addressed to us
    public static let broadcast = LinuxPacketType(rawValue: 1)
    public static let multicast = LinuxPacketType(rawValue: 2)
    public static let otherHost = LinuxPacketType(rawValue: 3)  // to someone else (promiscuous)
    public static let outgoing = LinuxPacketType(rawValue: 4)   // sent by us
    public var description: String {
        switch self {
        case .host: return "In"
        case .broadcast: return "B"
        case .multicast: return "M"
        case .otherHost: return "P"
        case .outgoing: return "Out"
        default: return "packet type \(rawValue)"
        }
    }
}
