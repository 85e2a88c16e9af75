/// The decoded view of one captured packet. Plain values, no heap storage, so a decoder
/// can produce one per packet on the hot path without allocating.

/// Link-layer header types (libpcap LINKTYPE_/DLT_ numbers). Open: an unknown value still prints.
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let null = LinkType(rawValue: 0)          // BSD loopback: 4-byte host-order AF
    public static let ethernet = LinkType(rawValue: 1)      // DLT_EN10MB (Linux `lo` too)
    public static let raw = LinkType(rawValue: 12)          // DLT_RAW on Linux (LINKTYPE_RAW is 101)
    public static let rawLinktype = LinkType(rawValue: 101) // LINKTYPE_RAW in files
    public static let loop = LinkType(rawValue: 108)        // OpenBSD loopback: network-order AF
    public static let linuxSLL = LinkType(rawValue: 113)
    public static let ipv4 = LinkType(rawValue: 228)
    public static let ipv6 = LinkType(rawValue: 229)
    public static let nflog = LinkType(rawValue: 239)       // Linux NFLOG (iptables -j NFLOG)
    public static let linuxSLL2 = LinkType(rawValue: 276)
    /// The decoders above; any other link type is named by `linktypeName`.
    public var isSupported: Bool {
        switch self {
        case .null, .ethernet, .raw, .rawLinktype, .loop, .linuxSLL, .ipv4, .ipv6, .nflog, .linuxSLL2: return true
        default: return false
        }
    }
    /// "LINKTYPE_NFLOG (239)": the tcpdump.org name and the number, for messages.
    public var linktypeName: String {
        "LINKTYPE_\(LinkType.names[rawValue] ?? "UNKNOWN") (\(rawValue))"
    }
    /// LINKTYPE_ names of the common link types (https://www.tcpdump.org/linktypes.html).
    static let names: [Int32: String] = [
        0: "NULL", 1: "ETHERNET", 6: "IEEE802_5", 9: "PPP", 10: "FDDI", 12: "RAW", 50: "PPP_HDLC",
        51: "PPP_ETHER", 101: "RAW", 104: "C_HDLC", 105: "IEEE802_11", 107: "FRELAY", 108: "LOOP",
        113: "LINUX_SLL", 119: "IEEE802_11_PRISM", 127: "IEEE802_11_RADIOTAP", 143: "DOCSIS",
        147: "USER0", 163: "IEEE802_11_AVS", 187: "BLUETOOTH_HCI_H4", 189: "USB_LINUX",
        192: "PPI", 195: "IEEE802_15_4_WITHFCS", 201: "BLUETOOTH_HCI_H4_WITH_PHDR",
        204: "PPP_WITH_DIR", 209: "IPMB_LINUX", 215: "IEEE802_15_4_NONASK_PHY",
        220: "USB_LINUX_MMAPPED", 227: "CAN_SOCKETCAN", 228: "IPV4", 229: "IPV6",
        230: "IEEE802_15_4_NOFCS", 231: "DBUS", 235: "DVB_CI", 239: "NFLOG", 240: "NETANALYZER",
        247: "IPOIB", 249: "MPEG_2_TS", 251: "NG40", 252: "WIRESHARK_UPPER_PDU", 253: "INFINIBAND",
        254: "SCTP", 263: "LOOP", 264: "IPNET", 266: "NETLINK", 270: "BLUETOOTH_LE_LL",
        272: "NORDIC_BLE", 274: "EBHSCR", 276: "LINUX_SLL2", 278: "NETANALYZER_TRANSPARENT",
        281: "ZWAVE_R1_R2", 284: "ETW", 290: "USB_2_0", 293: "WATTSTOPPER_DLM",
    ]
    public var description: String {
        switch self {
        case .null: return "NULL"
        case .ethernet: return "EN10MB"
        case .raw, .rawLinktype: return "RAW"
        case .loop: return "LOOP"
        case .linuxSLL: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        case .linuxSLL2: return "LINUX_SLL2"
        case .nflog: return "NFLOG"
        default: return "linktype \(rawValue)"
        }
    }
}

/// Why a packet could not be decoded completely. The layers that did decode stay valid.
/// Layer names used in `DecodeProblem`: "link", "ethernet", "vlan", "sll", "sll2", "null", "nflog",
/// "mpls", "pppoe", "ppp", "gre", "erspan", "vxlan", "geneve", "tunnel" (nesting too deep),
/// "loop", "ip" (raw IP whose version nibble is unusable), "ipv4", "ipv6", "tcp", "icmp",
/// "icmpv6". Reasons are static strings, so a problem costs no allocation.
public enum DecodeProblem: Equatable, Sendable, CustomStringConvertible {
    /// The capture ended inside `layer` (snaplen or a damaged record), as tcpdump's [|proto].
    case truncated(layer: DecodeText)
    /// A field holds an impossible value, e.g. an IPv4 IHL below 5.
    case invalid(layer: DecodeText, reason: DecodeText)
    public var description: String {
        switch self {
        case .truncated(let l): return "truncated \(l)"
        case .invalid(let l, let r): return "invalid \(l): \(r)"
        }
    }
}

/// A layer name or reason in a `DecodeProblem`: always a literal, kept as a `StaticString`
/// so a decoded packet holds no reference (copying one is a plain memory copy).
public struct DecodeText: Equatable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: StaticString
    public init(stringLiteral value: StaticString) { text = value }
    public var description: String { text.description }
    public static func == (a: DecodeText, b: DecodeText) -> Bool { a.text.description == b.text.description }
}

public struct IPHeader: Equatable, Sendable {
    public var version: UInt8               // 4 or 6
    public var source: IPAddress
    public var destination: IPAddress
    /// Upper-layer protocol after IPv6 extension headers (6 TCP, 1 ICMP, 58 ICMPv6).
    public var protocolNumber: UInt8
    public var ttl: UInt8                   // hop limit for IPv6
    /// Total length claimed by the header (IPv4 total length, IPv6 40 + payload length).
    public var totalLength: Int
    /// Offset of the upper-layer header within the packet bytes.
    public var payloadOffset: Int
    /// True when this is a non-first fragment (no transport header follows).
    public var isLaterFragment: Bool
    /// True for any fragment: IPv4 MF set or offset non-zero, or an IPv6 fragment header present.
    public var isFragment: Bool
    public init(version: UInt8, source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                ttl: UInt8, totalLength: Int, payloadOffset: Int, isLaterFragment: Bool = false,
                isFragment: Bool = false) {
        self.version = version; self.source = source; self.destination = destination
        self.protocolNumber = protocolNumber; self.ttl = ttl; self.totalLength = totalLength
        self.payloadOffset = payloadOffset; self.isLaterFragment = isLaterFragment
        self.isFragment = isFragment || isLaterFragment
    }
}

public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x001)
    public static let syn = TCPFlags(rawValue: 0x002)
    public static let rst = TCPFlags(rawValue: 0x004)
    public static let psh = TCPFlags(rawValue: 0x008)
    public static let ack = TCPFlags(rawValue: 0x010)
    public static let urg = TCPFlags(rawValue: 0x020)
    public static let ece = TCPFlags(rawValue: 0x040)
    public static let cwr = TCPFlags(rawValue: 0x080)
    /// tcpdump's notation: S, F, R, P, U, E, W, and "." for ACK.
    public var description: String {
        var s = ""
        if contains(.syn) { s += "S" }
        if contains(.fin) { s += "F" }
        if contains(.rst) { s += "R" }
        if contains(.psh) { s += "P" }
        if contains(.urg) { s += "U" }
        if contains(.ece) { s += "E" }
        if contains(.cwr) { s += "W" }
        if contains(.ack) { s += "." }
        return s.isEmpty ? "none" : s
    }
}

/// The TCP options conndiag cares about, without an array (no allocation).
public struct TCPOptions: Equatable, Sendable {
    public var mss: UInt16?
    public var windowScale: UInt8?
    public var sackPermitted: Bool = false
    public var timestamp: (value: UInt32, echoReply: UInt32)? {
        get { hasTimestamp ? (tsValue, tsEcho) : nil }
        set {
            if let n = newValue { hasTimestamp = true; tsValue = n.value; tsEcho = n.echoReply }
            else { hasTimestamp = false; tsValue = 0; tsEcho = 0 }  // keep == meaningful
        }
    }
    /// Number of SACK blocks (each a left/right edge pair) in a SACK option.
    public var sackBlockCount: Int = 0
    private var hasTimestamp = false
    private var tsValue: UInt32 = 0
    private var tsEcho: UInt32 = 0
    public init() {}
}

public struct TCPSegment: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var headerLength: Int
    public var options: TCPOptions
    /// Payload bytes the IP header says the segment carries (may exceed what was captured).
    public var payloadLength: Int
    /// Offset of the payload within the packet bytes, and how many payload bytes were captured.
    public var payloadOffset: Int
    public var capturedPayloadLength: Int
    public init(sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, acknowledgment: UInt32,
                flags: TCPFlags, window: UInt16, headerLength: Int, options: TCPOptions = TCPOptions(),
                payloadLength: Int, payloadOffset: Int, capturedPayloadLength: Int) {
        self.sourcePort = sourcePort; self.destinationPort = destinationPort
        self.sequence = sequence; self.acknowledgment = acknowledgment; self.flags = flags
        self.window = window; self.headerLength = headerLength; self.options = options
        self.payloadLength = payloadLength; self.payloadOffset = payloadOffset
        self.capturedPayloadLength = capturedPayloadLength
    }
}

/// ICMP/ICMPv6 type (open: unknown values still print). The numbers overlap between ICMP and
/// ICMPv6, so the named constants for ICMPv6 carry a `v6` prefix and `name(version:)` needs
/// the version (see ICMP.swift).
public struct ICMPType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
}

/// The flow an ICMP error quotes (the offending packet's IP header plus 8 transport bytes).
public struct QuotedFlow: Equatable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var protocolNumber: UInt8
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var sequence: UInt32?
    public init(source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                sourcePort: UInt16? = nil, destinationPort: UInt16? = nil, sequence: UInt32? = nil) {
        self.source = source; self.destination = destination; self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort; self.destinationPort = destinationPort; self.sequence = sequence
    }
}

public struct ICMPMessage: Equatable, Sendable {
    /// 4 for ICMP, 6 for ICMPv6.
    public var version: UInt8
    public var type: ICMPType
    public var code: UInt8
    /// Present for error messages (unreachable, time exceeded, packet too big, ...).
    public var quoted: QuotedFlow?
    /// Next-hop MTU of an ICMP "fragmentation needed" (3/4) or an ICMPv6 "packet too big".
    public var mtu: UInt32?
    public init(version: UInt8, type: ICMPType, code: UInt8, quoted: QuotedFlow? = nil, mtu: UInt32? = nil) {
        self.version = version; self.type = type; self.code = code; self.quoted = quoted; self.mtu = mtu
    }
}

public enum TransportLayer: Equatable, Sendable {
    case tcp(TCPSegment)
    case icmp(ICMPMessage)
    /// Another protocol number (UDP, ...), not decoded further.
    case other(protocolNumber: UInt8)
    case none
}

public struct DecodedPacket: Equatable, Sendable {
    public var linkType: LinkType
    /// 802.1Q/802.1ad VLAN id of the outermost tag, if any.
    public var vlanID: UInt16?
    public var ip: IPHeader?
    public var transport: TransportLayer
    public var problem: DecodeProblem?
    /// The network protocol the link layer announced (after VLAN tags), when it has one:
    /// Ethernet type, SLL/SLL2 protocol, or IPv4/IPv6 implied by NULL/LOOP/raw link types.
    public var etherType: EtherType?
    /// Linux cooked capture (SLL/SLL2) packet type: to us, outgoing, ... Nil for other links.
    public var linuxPacketType: LinuxPacketType?
    /// SLL2 interface index. Nil for other links.
    public var interfaceIndex: UInt32?
    /// How many encapsulations (tunnel, MPLS, PPPoE, ERSPAN) were entered to reach `ip`; 0
    /// for a plain packet. VLAN tags do not count. `ip` and `transport` are the innermost
    /// ones decoded (the outer ones when the inner packet is not IP or is broken).
    public var encapsulationDepth: UInt8 = 0
    public init(linkType: LinkType, vlanID: UInt16? = nil, ip: IPHeader? = nil,
                transport: TransportLayer = .none, problem: DecodeProblem? = nil,
                etherType: EtherType? = nil, linuxPacketType: LinuxPacketType? = nil,
                interfaceIndex: UInt32? = nil) {
        self.linkType = linkType; self.vlanID = vlanID; self.ip = ip
        self.transport = transport; self.problem = problem
        self.etherType = etherType; self.linuxPacketType = linuxPacketType
        self.interfaceIndex = interfaceIndex
    }
    public var tcp: TCPSegment? { if case .tcp(let s) = transport { return s } else { return nil } }
    public var icmp: ICMPMessage? { if case .icmp(let m) = transport { return m } else { return nil } }
}
