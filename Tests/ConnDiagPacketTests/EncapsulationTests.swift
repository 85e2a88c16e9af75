import Testing
@testable import ConnDiagPacket

/// Encapsulations decoded to the inner TCP, on packets built here field by field from the
/// RFCs (MPLS RFC 3032, PPPoE RFC 2516, IP-in-IP RFC 2003/4213, GRE RFC 2784/2890, ERSPAN
/// draft-foschiano-erspan, VXLAN RFC 7348, Geneve RFC 8926, NFLOG tcpdump.org/linktypes).
/// The same frames written to a pcap are read by tshark as eth:...:ip:tcp with the inner
/// addresses (checked when the seeds were made: Fuzz/make-corpus.py `encapsulation_seeds`).
@Suite struct EncapsulationTests {
    // MARK: Builders (checksums zero: the decoders do not verify them)

    /// TCP SYN 40000 -> 80, seq 1000, 20-byte header.
    static let tcpSYN: [UInt8] = [0x9C, 0x40, 0x00, 0x50, 0, 0, 0x03, 0xE8, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]

    static func ipv4(_ proto: UInt8, _ payload: [UInt8], src: UInt8 = 1, dst: UInt8 = 2) -> [UInt8] {
        let total = 20 + payload.count
        return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 0, 0x40, 0, 64, proto, 0, 0,
                10, 0, 0, src, 10, 0, 0, dst] + payload
    }

    static func ipv6(_ next: UInt8, _ payload: [UInt8], src: UInt8 = 1, dst: UInt8 = 2) -> [UInt8] {
        var h: [UInt8] = [0x60, 0, 0, 0, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF), next, 64]
        h += [0xFD, 0] + [UInt8](repeating: 0, count: 13) + [src]
        h += [0xFD, 0] + [UInt8](repeating: 0, count: 13) + [dst]
        return h + payload
    }

    static func ethernet(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        [UInt8](repeating: 0x02, count: 12) + [UInt8(type >> 8), UInt8(type & 0xFF)] + payload
    }

    static func udp(dst: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let len = 8 + payload.count
        return [0xC0, 0x01, UInt8(dst >> 8), UInt8(dst & 0xFF), UInt8(len >> 8), UInt8(len & 0xFF), 0, 0] + payload
    }

    /// The inner packet every case carries: 10.0.0.1:40000 -> 10.0.0.2:80 SYN (inner
    /// addresses .1/.2; outer headers use .101/.102 so a mix-up shows).
    static let inner = ipv4(6, tcpSYN)
    static let innerFrame = ethernet(0x0800, inner)

    static func expectInnerSYN(_ p: DecodedPacket, depth: UInt8, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(p.problem == nil, sourceLocation: sourceLocation)
        #expect(p.ip?.source.description == "10.0.0.1", sourceLocation: sourceLocation)
        #expect(p.ip?.destination.description == "10.0.0.2", sourceLocation: sourceLocation)
        #expect(p.tcp?.sourcePort == 40000 && p.tcp?.destinationPort == 80 && p.tcp?.flags == .syn, sourceLocation: sourceLocation)
        #expect(p.encapsulationDepth == depth, sourceLocation: sourceLocation)
    }

    // MARK: Link-layer stacks

    @Test func vlanThenMPLSLabelStack() {
        // 802.1Q VID 100 -> MPLS: label 16 (S=0), label 17 (S=1) -> IPv4
        let frame = Self.ethernet(0x8100, [0x00, 0x64, 0x88, 0x47]
            + [0x00, 0x01, 0x00, 0x40]   // label 16, TC 0, S 0, TTL 64
            + [0x00, 0x01, 0x11, 0x40]   // label 17, TC 0, S 1, TTL 64
            + Self.inner)
        let p = PacketDecoder.decode(frame, linkType: .ethernet)
        Self.expectInnerSYN(p, depth: 1)
        #expect(p.vlanID == 100)
    }

    @Test func mplsPseudowireWithControlWord() {
        // label S=1, then control word 0x00000000, then an Ethernet frame (RFC 4385).
        let frame = Self.ethernet(0x8847, [0x00, 0x01, 0x01, 0x40, 0, 0, 0, 0] + Self.innerFrame)
        Self.expectInnerSYN(PacketDecoder.decode(frame, linkType: .ethernet), depth: 1)
    }

    @Test func qinqAnyDepth() {
        // 802.1ad S-tag VID 10, legacy 0x9100 tag, 802.1Q C-tag VID 30 -> IPv4
        let frame = Self.ethernet(0x88A8, [0x00, 0x0A, 0x91, 0x00, 0x00, 0x14, 0x81, 0x00, 0x00, 0x1E, 0x08, 0x00] + Self.inner)
        let p = PacketDecoder.decode(frame, linkType: .ethernet)
        Self.expectInnerSYN(p, depth: 0)
        #expect(p.vlanID == 10)
    }

    @Test func pppoeSession() {
        let len = 2 + Self.inner.count
        let frame = Self.ethernet(0x8864, [0x11, 0x00, 0x12, 0x34, UInt8(len >> 8), UInt8(len & 0xFF), 0x00, 0x21] + Self.inner)
        Self.expectInnerSYN(PacketDecoder.decode(frame, linkType: .ethernet), depth: 1)
        // PPP LCP (0xC021) carries no IP: not an error.
        let lcp = Self.ethernet(0x8864, [0x11, 0x00, 0x12, 0x34, 0x00, 0x06, 0xC0, 0x21, 1, 1, 0, 4])
        let q = PacketDecoder.decode(lcp, linkType: .ethernet)
        #expect(q.ip == nil && q.problem == nil)
    }

    // MARK: IP-in-IP

    @Test func ipInIPAllFourCombinations() {
        let inner6 = Self.ipv6(6, Self.tcpSYN)
        let cases: [([UInt8], String)] = [
            (Self.ipv4(4, Self.inner, src: 101, dst: 102), "10.0.0.1"),      // 4in4 (ipip)
            (Self.ipv4(41, inner6, src: 101, dst: 102), "fd00::1"),          // 6in4 (sit)
            (Self.ipv6(4, Self.inner, src: 101, dst: 102), "10.0.0.1"),      // 4in6 (ip6tnl)
            (Self.ipv6(41, inner6, src: 101, dst: 102), "fd00::1"),          // 6in6
        ]
        for (packet, source) in cases {
            let p = PacketDecoder.decode(Self.ethernet(packet[0] >> 4 == 4 ? 0x0800 : 0x86DD, packet), linkType: .ethernet)
            #expect(p.problem == nil)
            #expect(p.ip?.source.description == source)
            #expect(p.tcp?.destinationPort == 80)
            #expect(p.encapsulationDepth == 1)
        }
    }

    // MARK: GRE and ERSPAN

    @Test func greWithKeyAndSequence() {
        // flags K|S, version 0, protocol IPv4, key 42, sequence 7
        let gre: [UInt8] = [0x30, 0x00, 0x08, 0x00, 0, 0, 0, 42, 0, 0, 0, 7]
        Self.expectInnerSYN(PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(47, gre + Self.inner, src: 101)), linkType: .ethernet), depth: 1)
        // with checksum too (C|K): 4 more bytes
        let greC: [UInt8] = [0xA0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 42]
        Self.expectInnerSYN(PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(47, greC + Self.inner, src: 101)), linkType: .ethernet), depth: 1)
    }

    @Test func gretapTransparentEthernet() {
        let gre: [UInt8] = [0x00, 0x00, 0x65, 0x58]
        Self.expectInnerSYN(PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(47, gre + Self.innerFrame, src: 101)), linkType: .ethernet), depth: 1)
    }

    @Test func erspanTypeIIAndIII() {
        // Type II: GRE with S, protocol 0x88BE, sequence; ERSPAN header version 1, VLAN 0, session 5.
        let gre2: [UInt8] = [0x10, 0x00, 0x88, 0xBE, 0, 0, 0, 1]
        let erspan2: [UInt8] = [0x10, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]
        Self.expectInnerSYN(PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(47, gre2 + erspan2 + Self.innerFrame, src: 101)), linkType: .ethernet), depth: 1)
        // Type III: protocol 0x22EB, 12-byte header with O set -> 8-byte platform subheader; FT 0.
        let gre3: [UInt8] = [0x10, 0x00, 0x22, 0xEB, 0, 0, 0, 1]
        let erspan3: [UInt8] = [0x20, 0x00, 0x00, 0x05, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x01] + [UInt8](repeating: 0xAB, count: 8)
        Self.expectInnerSYN(PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(47, gre3 + erspan3 + Self.innerFrame, src: 101)), linkType: .ethernet), depth: 1)
    }

    // MARK: UDP overlays

    @Test func vxlanOnBothPorts() {
        let vxlan: [UInt8] = [0x08, 0, 0, 0, 0x00, 0x00, 0x2A, 0x00]  // I flag, VNI 42
        for port: UInt16 in [4789, 8472] {
            let frame = Self.ethernet(0x0800, Self.ipv4(17, Self.udp(dst: port, vxlan + Self.innerFrame), src: 101, dst: 102))
            Self.expectInnerSYN(PacketDecoder.decode(frame, linkType: .ethernet), depth: 1)
        }
        // Another UDP port: plain UDP, outer addresses.
        let dns = PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(17, Self.udp(dst: 53, vxlan + Self.innerFrame), src: 101)), linkType: .ethernet)
        #expect(dns.transport == .other(protocolNumber: 17) && dns.ip?.source.description == "10.0.0.101" && dns.encapsulationDepth == 0)
    }

    @Test func geneveSkipsOptions() {
        // version 0, options length 2 words, protocol 0x6558, VNI 7, then one 8-byte option.
        let geneve: [UInt8] = [0x02, 0x00, 0x65, 0x58, 0, 0, 7, 0] + [0x01, 0x02, 0x03, 0x01, 0xDE, 0xAD, 0xBE, 0xEF]
        let frame = Self.ethernet(0x86DD, Self.ipv6(17, Self.udp(dst: 6081, geneve + Self.innerFrame), src: 101))
        Self.expectInnerSYN(PacketDecoder.decode(frame, linkType: .ethernet), depth: 1)
        // Geneve carrying IPv4 directly (protocol type 0x0800).
        let direct: [UInt8] = [0x00, 0x00, 0x08, 0x00, 0, 0, 7, 0]
        Self.expectInnerSYN(PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(17, Self.udp(dst: 6081, direct + Self.inner), src: 101)), linkType: .ethernet), depth: 1)
    }

    @Test func mplsOverUDP() {
        // RFC 7510: UDP destination port 6635, then the label stack (label 1000 S 0, label 2000 S 1).
        let labels: [UInt8] = [0x00, 0x3E, 0x80, 0x40, 0x00, 0x7D, 0x01, 0x40]
        let frame = Self.ethernet(0x0800, Self.ipv4(17, Self.udp(dst: 6635, labels + Self.inner), src: 101, dst: 102))
        Self.expectInnerSYN(PacketDecoder.decode(frame, linkType: .ethernet), depth: 1)
        // A stack cut before its bottom label: truncated, the outer addresses kept.
        let cut = PacketDecoder.decode(Self.ethernet(0x0800, Self.ipv4(17, Self.udp(dst: 6635, [0x00, 0x3E, 0x80, 0x40]), src: 101)), linkType: .ethernet)
        #expect(cut.problem == .truncated(layer: "mpls") && cut.ip?.source.description == "10.0.0.101")
    }

    @Test func vxlanInsideGREInsideMPLS() {
        let vxlan: [UInt8] = [0x08, 0, 0, 0, 0, 0, 1, 0]
        let udpPart = Self.ipv4(17, Self.udp(dst: 4789, vxlan + Self.innerFrame), src: 103)
        let gre = Self.ipv4(47, [0x00, 0x00, 0x08, 0x00] + udpPart, src: 101)
        let frame = Self.ethernet(0x8847, [0x00, 0x01, 0x01, 0x40] + gre)
        Self.expectInnerSYN(PacketDecoder.decode(frame, linkType: .ethernet), depth: 3)
    }

    // MARK: Bounds

    @Test func nestingIsBounded() {
        var packet = Self.inner
        for _ in 0..<20 { packet = Self.ipv4(4, packet, src: 101) }
        let p = PacketDecoder.decode(Self.ethernet(0x0800, packet), linkType: .ethernet)
        #expect(p.problem == .invalid(layer: "tunnel", reason: "more than 8 nested encapsulations"))
        #expect(p.tcp == nil)
    }

    @Test func cutInnerFramesAreTruncatedNotTraps() {
        let vxlan: [UInt8] = [0x08, 0, 0, 0, 0, 0, 1, 0]
        let whole = Self.ethernet(0x0800, Self.ipv4(17, Self.udp(dst: 4789, vxlan + Self.innerFrame), src: 101))
        for cut in 0..<whole.count {
            let p = PacketDecoder.decode(Array(whole[..<cut]), linkType: .ethernet)
            if cut >= 14 + 20 + 8 { #expect(p.problem != nil) }   // inside VXLAN or deeper
        }
        let p = PacketDecoder.decode(Array(whole[..<(14 + 20 + 8 + 8 + 6)]), linkType: .ethernet)
        #expect(p.problem == .truncated(layer: "ethernet"))
        #expect(p.ip?.source.description == "10.0.0.101")  // the outer packet stays
    }

    // MARK: NFLOG

    /// NFLOG header + TLVs in little-endian (x86 capture host): NFULA_PACKET_HDR (1),
    /// NFULA_PREFIX (10, "ab\0" padded), NFULA_PAYLOAD (9) with the IPv4 packet.
    static func nflog(family: UInt8, payload: [UInt8], bigEndianTLVs: Bool = false) -> [UInt8] {
        func tlv(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
            let len = UInt16(4 + value.count)
            let header: [UInt8] = bigEndianTLVs
                ? [UInt8(len >> 8), UInt8(len & 0xFF), UInt8(type >> 8), UInt8(type & 0xFF)]
                : [UInt8(len & 0xFF), UInt8(len >> 8), UInt8(type & 0xFF), UInt8(type >> 8)]
            return header + value + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        return [family, 0, 0x00, 0x05] + tlv(1, [0x08, 0x00, 3, 0]) + tlv(10, [0x61, 0x62, 0]) + tlv(9, payload)
    }

    @Test func nflogPayloadTLV() {
        Self.expectInnerSYN(PacketDecoder.decode(Self.nflog(family: 2, payload: Self.inner), linkType: .nflog), depth: 0)
        Self.expectInnerSYN(PacketDecoder.decode(Self.nflog(family: 2, payload: Self.inner, bigEndianTLVs: true), linkType: .nflog), depth: 0)
        let v6 = PacketDecoder.decode(Self.nflog(family: 10, payload: Self.ipv6(6, Self.tcpSYN)), linkType: .nflog)
        #expect(v6.ip?.source.description == "fd00::1" && v6.tcp?.destinationPort == 80)
        // A TLV length below its own header is invalid, not a loop.
        let bad = PacketDecoder.decode([2, 0, 0, 0, 0, 0, 9, 0, 0x45], linkType: .nflog)
        #expect(bad.problem == .invalid(layer: "nflog", reason: "TLV length below 4"))
    }

    @Test func linkTypesAreNamedWithTheirNumber() {
        #expect(LinkType.nflog.linktypeName == "LINKTYPE_NFLOG (239)")
        #expect(LinkType(rawValue: 127).linktypeName == "LINKTYPE_IEEE802_11_RADIOTAP (127)")
        #expect(LinkType(rawValue: 4242).linktypeName == "LINKTYPE_UNKNOWN (4242)")
        #expect(!LinkType(rawValue: 127).isSupported && LinkType.nflog.isSupported)
    }
}
