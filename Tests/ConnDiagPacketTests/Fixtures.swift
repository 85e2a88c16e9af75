// Byte fixtures, one comment per field. Checksums are zero: the decoders do not verify them.

enum Fixture {
    // MARK: IPv4 / TCP SYN, 10.0.0.1:54321 -> 10.0.0.7:443, Linux option layout

    static let ipv4SYNHeader: [UInt8] = [
        0x45,                   // version 4, IHL 5 (20 bytes)
        0x00,                   // DSCP/ECN
        0x00, 0x3C,             // total length 60 = 20 IP + 40 TCP
        0x12, 0x34,             // identification
        0x40, 0x00,             // flags DF, fragment offset 0
        0x40,                   // TTL 64
        0x06,                   // protocol TCP
        0x00, 0x00,             // header checksum
        0x0A, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0A, 0x00, 0x00, 0x07, // destination 10.0.0.7
    ]

    static let tcpSYN: [UInt8] = [
        0xD4, 0x31,             // source port 54321
        0x01, 0xBB,             // destination port 443
        0x00, 0x00, 0x03, 0xE8, // sequence 1000
        0x00, 0x00, 0x00, 0x00, // acknowledgment 0
        0xA0,                   // data offset 10 (40 bytes), reserved, NS 0
        0x02,                   // flags SYN
        0xFA, 0xF0,             // window 64240
        0x00, 0x00,             // checksum
        0x00, 0x00,             // urgent pointer
        0x02, 0x04, 0x05, 0xB4, // MSS 1460
        0x04, 0x02,             // SACK permitted
        0x08, 0x0A,             // timestamps, length 10
        0x00, 0x01, 0xE2, 0x40, //   TSval 123456
        0x00, 0x00, 0x00, 0x00, //   TSecr 0
        0x01,                   // NOP
        0x03, 0x03, 0x07,       // window scale 7
    ]

    static let ipv4SYN = ipv4SYNHeader + tcpSYN

    static let ethernetHeaderIPv4: [UInt8] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination MAC
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
        0x08, 0x00,                         // ethertype IPv4
    ]

    static let ethernetSYN = ethernetHeaderIPv4 + ipv4SYN

    /// Linux `lo`: DLT_EN10MB with all-zero MACs.
    static let loopbackSYN: [UInt8] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // destination MAC (zero on lo)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // source MAC (zero on lo)
        0x08, 0x00,                         // ethertype IPv4
    ] + ipv4SYN

    /// QinQ: 802.1ad outer tag VLAN 100, 802.1Q inner tag VLAN 200.
    static let vlanSYN: [UInt8] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination MAC
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
        0x88, 0xA8,                         // 802.1ad service tag
        0x00, 0x64,                         //   PCP 0, DEI 0, VID 100
        0x81, 0x00,                         // 802.1Q customer tag
        0x20, 0xC8,                         //   PCP 1, DEI 0, VID 200
        0x08, 0x00,                         // ethertype IPv4
    ] + ipv4SYN

    // MARK: IPv6 / TCP SYN, [2001:db8::1]:54321 -> [2001:db8::7]:443

    static let ipv6Source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]
    static let ipv6Destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07]

    static let ipv6SYNHeader: [UInt8] = [
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class 0, flow label 0
        0x00, 0x28,             // payload length 40
        0x06,                   // next header TCP
        0x40,                   // hop limit 64
    ] + ipv6Source              // source 2001:db8::1
      + ipv6Destination         // destination 2001:db8::7

    static let ipv6SYN = ipv6SYNHeader + tcpSYN

    static let sllIPv6SYN: [UInt8] = [
        0x00, 0x04,             // packet type: outgoing
        0x00, 0x01,             // ARPHRD_ETHER
        0x00, 0x06,             // link-layer address length 6
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // address, padded to 8
        0x86, 0xDD,             // protocol IPv6
    ] + ipv6SYN

    static let sll2IPv6SYN: [UInt8] = [
        0x86, 0xDD,             // protocol IPv6
        0x00, 0x00,             // reserved
        0x00, 0x00, 0x00, 0x02, // interface index 2
        0x00, 0x01,             // ARPHRD_ETHER
        0x00,                   // packet type: to us
        0x06,                   // link-layer address length 6
        0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, // address, padded to 8
    ] + ipv6SYN

    /// IPv6 with a hop-by-hop options header and a first-fragment header before TCP.
    static let ipv6HopByHopFragmentSYN: [UInt8] = [
        0x60, 0x00, 0x00, 0x00, // version 6
        0x00, 0x38,             // payload length 56 = 8 hop-by-hop + 8 fragment + 40 TCP
        0x00,                   // next header hop-by-hop
        0x40,                   // hop limit 64
    ] + ipv6Source + ipv6Destination + [
        0x2C,                   // hop-by-hop: next header fragment
        0x00,                   //   length 0 -> 8 bytes
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // PadN, 4 bytes of padding
        0x06,                   // fragment: next header TCP
        0x00,                   //   reserved
        0x00, 0x01,             //   offset 0, M (more fragments) set
        0x00, 0x00, 0xAB, 0xCD, //   identification
    ] + tcpSYN

    // MARK: ICMP errors quoting the SYN

    /// ICMP destination unreachable from `source`, code `code`, quoting the IPv4 SYN's
    /// header and its first 8 TCP bytes (what a Linux router or host sends).
    static func icmpUnreachable(code: UInt8, from source: [UInt8]) -> [UInt8] {
        [
            0x45,                   // version 4, IHL 5
            0xC0,                   // DSCP CS6 (network control)
            0x00, 0x38,             // total length 56 = 20 + 8 ICMP + 20 quoted IP + 8 quoted TCP
            0x00, 0x01,             // identification
            0x00, 0x00,             // flags 0, fragment offset 0
            0x40,                   // TTL 64
            0x01,                   // protocol ICMP
            0x00, 0x00,             // header checksum
        ] + source + [              // source (router or target)
            0x0A, 0x00, 0x00, 0x01, // destination 10.0.0.1 (the SYN's sender)
            0x03,                   // ICMP type 3 destination unreachable
            code,                   // code
            0x00, 0x00,             // checksum
            0x00, 0x00, 0x00, 0x00, // unused
        ] + ipv4SYNHeader           // quoted IPv4 header of the SYN
          + tcpSYN[0..<8]           // quoted ports and sequence number
    }

    static let ethernetHostUnreachable = ethernetHeaderIPv4 + icmpUnreachable(code: 1, from: [0x0A, 0x00, 0x00, 0xFE])
    static let ethernetPortUnreachable = ethernetHeaderIPv4 + icmpUnreachable(code: 3, from: [0x0A, 0x00, 0x00, 0x07])

    /// ICMPv6 destination unreachable, port unreachable, quoting the whole IPv6 SYN.
    static let icmpv6PortUnreachable: [UInt8] = [
        0x60, 0x00, 0x00, 0x00, // version 6
        0x00, 0x58,             // payload length 88 = 8 ICMPv6 + 40 quoted IPv6 + 40 quoted TCP
        0x3A,                   // next header ICMPv6
        0x40,                   // hop limit 64
    ] + ipv6Destination         // source 2001:db8::7 (the target)
      + ipv6Source + [          // destination 2001:db8::1
        0x01,                   // ICMPv6 type 1 destination unreachable
        0x04,                   // code 4 port unreachable
        0x00, 0x00,             // checksum
        0x00, 0x00, 0x00, 0x00, // unused
    ] + ipv6SYN                 // the quoted packet

    // MARK: TCP with payload

    /// 10.0.0.7:443 -> 10.0.0.1:54321, ACK|PSH, 100 payload bytes of which 20 were captured.
    static let ipv4DataHeader: [UInt8] = [
        0x45, 0x00,             // version 4, IHL 5, DSCP/ECN
        0x00, 0x98,             // total length 152 = 20 IP + 32 TCP + 100 payload
        0x00, 0x02, 0x40, 0x00, // identification, DF
        0x40, 0x06, 0x00, 0x00, // TTL 64, TCP, checksum
        0x0A, 0x00, 0x00, 0x07, // source 10.0.0.7
        0x0A, 0x00, 0x00, 0x01, // destination 10.0.0.1
    ]
    static let tcpData: [UInt8] = [
        0x01, 0xBB, 0xD4, 0x31, // ports 443 -> 54321
        0x00, 0x00, 0x27, 0x10, // sequence 10000
        0x00, 0x00, 0x03, 0xE9, // acknowledgment 1001
        0x80,                   // data offset 8 (32 bytes)
        0x18,                   // flags ACK|PSH
        0x01, 0xF5,             // window 501
        0x00, 0x00, 0x00, 0x00, // checksum, urgent pointer
        0x01, 0x01,             // NOP, NOP
        0x08, 0x0A,             // timestamps
        0x00, 0x00, 0x00, 0x10, //   TSval 16
        0x00, 0x01, 0xE2, 0x40, //   TSecr 123456
    ]
    static let snappedPayload: [UInt8] = Array(0..<20) // first 20 of 100 payload bytes
    static let ethernetSnappedData = ethernetHeaderIPv4 + ipv4DataHeader + tcpData + snappedPayload
}

/// Replaces bytes at `offset` (for variants of a fixture).
func patched(_ bytes: [UInt8], at offset: Int, with new: [UInt8]) -> [UInt8] {
    var b = bytes
    b.replaceSubrange(offset..<(offset + new.count), with: new)
    return b
}
