import Testing
@testable import ConnDiagPacket

/// The SYN fixture's TCP layer, as every link type should decode it.
func expectSYN(_ p: DecodedPacket, tcpAt offset: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let tcp = p.tcp else {
        Issue.record("no TCP segment: \(p)", sourceLocation: sourceLocation); return
    }
    #expect(tcp.sourcePort == 54321, sourceLocation: sourceLocation)
    #expect(tcp.destinationPort == 443, sourceLocation: sourceLocation)
    #expect(tcp.sequence == 1000, sourceLocation: sourceLocation)
    #expect(tcp.acknowledgment == 0, sourceLocation: sourceLocation)
    #expect(tcp.flags == .syn, sourceLocation: sourceLocation)
    #expect(tcp.window == 64240, sourceLocation: sourceLocation)
    #expect(tcp.headerLength == 40, sourceLocation: sourceLocation)
    #expect(tcp.options.mss == 1460, sourceLocation: sourceLocation)
    #expect(tcp.options.sackPermitted, sourceLocation: sourceLocation)
    #expect(tcp.options.timestamp?.value == 123456, sourceLocation: sourceLocation)
    #expect(tcp.options.timestamp?.echoReply == 0, sourceLocation: sourceLocation)
    #expect(tcp.options.windowScale == 7, sourceLocation: sourceLocation)
    #expect(tcp.options.sackBlockCount == 0, sourceLocation: sourceLocation)
    #expect(tcp.payloadLength == 0, sourceLocation: sourceLocation)
    #expect(tcp.capturedPayloadLength == 0, sourceLocation: sourceLocation)
    #expect(tcp.payloadOffset == offset + 40, sourceLocation: sourceLocation)
    #expect(p.problem == nil, sourceLocation: sourceLocation)
}

func expectIPv4SYNHeader(_ p: DecodedPacket, at offset: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(p.ip == IPHeader(version: 4, source: .v4(0x0A00_0001), destination: .v4(0x0A00_0007),
                             protocolNumber: 6, ttl: 64, totalLength: 60, payloadOffset: offset + 20),
            sourceLocation: sourceLocation)
}

func expectIPv6SYNHeader(_ p: DecodedPacket, at offset: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(p.ip == IPHeader(version: 6, source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8::7")!,
                             protocolNumber: 6, ttl: 64, totalLength: 80, payloadOffset: offset + 40),
            sourceLocation: sourceLocation)
}

@Suite struct LinkLayerTests {
    @Test func ethernetIPv4SYNEveryField() {
        let p = PacketDecoder.decode(Fixture.ethernetSYN, linkType: .ethernet)
        #expect(p.linkType == .ethernet)
        #expect(p.vlanID == nil)
        #expect(p.etherType == .ipv4)
        #expect(p.linuxPacketType == nil)
        #expect(p.ip?.isFragment == false)
        #expect(p.ip?.isLaterFragment == false)
        expectIPv4SYNHeader(p, at: 14)
        expectSYN(p, tcpAt: 34)
        #expect(p.tcp?.flags.description == "S")
        #expect(p.icmp == nil)
    }

    @Test func loopbackZeroMACs() {
        let p = PacketDecoder.decode(Fixture.loopbackSYN, linkType: .ethernet)
        expectIPv4SYNHeader(p, at: 14)
        expectSYN(p, tcpAt: 34)
    }

    @Test func stackedVLANRecordsOutermostID() {
        let p = PacketDecoder.decode(Fixture.vlanSYN, linkType: .ethernet)
        #expect(p.vlanID == 100)
        #expect(p.etherType == .ipv4)
        expectIPv4SYNHeader(p, at: 22)
        expectSYN(p, tcpAt: 42)
    }

    @Test func singleVLANTag() {
        // Drop the outer 802.1ad tag: 802.1Q VLAN 200 alone.
        let frame = Array(Fixture.vlanSYN[0..<12]) + Array(Fixture.vlanSYN[16...])
        let p = PacketDecoder.decode(frame, linkType: .ethernet)
        #expect(p.vlanID == 200)
        expectSYN(p, tcpAt: 38)
    }

    @Test func arpIsNotAnError() {
        let arp: [UInt8] = [
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // broadcast
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source MAC
            0x08, 0x06,                         // ethertype ARP
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype, ptype, hlen, plen, request
        ] + [UInt8](repeating: 0, count: 20)
        let p = PacketDecoder.decode(arp, linkType: .ethernet)
        #expect(p.ip == nil)
        #expect(p.transport == .none)
        #expect(p.problem == nil)
        #expect(p.etherType == .arp)
        #expect(p.etherType?.description == "ARP")
    }

    @Test func linuxSLLIPv6() {
        let p = PacketDecoder.decode(Fixture.sllIPv6SYN, linkType: .linuxSLL)
        #expect(p.linuxPacketType == .outgoing)
        #expect(p.etherType == .ipv6)
        #expect(p.interfaceIndex == nil)
        expectIPv6SYNHeader(p, at: 16)
        expectSYN(p, tcpAt: 56)
    }

    @Test func linuxSLL2IPv6() {
        let p = PacketDecoder.decode(Fixture.sll2IPv6SYN, linkType: .linuxSLL2)
        #expect(p.linuxPacketType == .host)
        #expect(p.interfaceIndex == 2)
        expectIPv6SYNHeader(p, at: 20)
        expectSYN(p, tcpAt: 60)
    }

    @Test(arguments: [LinkType.raw, .rawLinktype])
    func rawIP(linkType: LinkType) {
        let v4 = PacketDecoder.decode(Fixture.ipv4SYN, linkType: linkType)
        expectIPv4SYNHeader(v4, at: 0)
        expectSYN(v4, tcpAt: 20)
        let v6 = PacketDecoder.decode(Fixture.ipv6SYN, linkType: linkType)
        expectIPv6SYNHeader(v6, at: 0)
        expectSYN(v6, tcpAt: 40)
        let bad = PacketDecoder.decode([0x50] + Fixture.ipv4SYN.dropFirst(), linkType: linkType)
        #expect(bad.ip == nil)
        #expect(bad.problem == .invalid(layer: "ip", reason: "IP version is neither 4 nor 6"))
        #expect(PacketDecoder.decode([], linkType: linkType).problem == .truncated(layer: "ip"))
    }

    @Test func linktypeIPv4AndIPv6() {
        expectSYN(PacketDecoder.decode(Fixture.ipv4SYN, linkType: .ipv4), tcpAt: 20)
        expectSYN(PacketDecoder.decode(Fixture.ipv6SYN, linkType: .ipv6), tcpAt: 40)
        // The link type promises IPv4: an IPv6 packet there is invalid.
        #expect(PacketDecoder.decode(Fixture.ipv6SYN, linkType: .ipv4).problem
                == .invalid(layer: "ipv4", reason: "IP version is not 4"))
    }

    @Test func nullLoopback() {
        // AF_INET in little-endian host order (Linux/x86 and arm64 captures).
        let v4 = PacketDecoder.decode([0x02, 0x00, 0x00, 0x00] + Fixture.ipv4SYN, linkType: .null)
        expectIPv4SYNHeader(v4, at: 4)
        expectSYN(v4, tcpAt: 24)
        // The same from a big-endian host: the header is byte-swapped and still recognised.
        expectSYN(PacketDecoder.decode([0x00, 0x00, 0x00, 0x02] + Fixture.ipv4SYN, linkType: .null), tcpAt: 24)
        // AF_INET6 as NetBSD/OpenBSD (24), FreeBSD (28) and Darwin (30) number it.
        for af: UInt8 in [24, 28, 30] {
            let v6 = PacketDecoder.decode([af, 0x00, 0x00, 0x00] + Fixture.ipv6SYN, linkType: .null)
            expectIPv6SYNHeader(v6, at: 4)
            expectSYN(v6, tcpAt: 44)
        }
        // Another family: no IP, not an error.
        let other = PacketDecoder.decode([0x07, 0x00, 0x00, 0x00, 0x01, 0x02], linkType: .null)
        #expect(other.ip == nil && other.problem == nil)
        #expect(PacketDecoder.decode([0x02, 0x00], linkType: .null).problem == .truncated(layer: "null"))
    }

    @Test func loopLoopbackNetworkOrder() {
        let v4 = PacketDecoder.decode([0x00, 0x00, 0x00, 0x02] + Fixture.ipv4SYN, linkType: .loop)
        expectSYN(v4, tcpAt: 24)
        let v6 = PacketDecoder.decode([0x00, 0x00, 0x00, 0x18] + Fixture.ipv6SYN, linkType: .loop)
        expectIPv6SYNHeader(v6, at: 4)
        expectSYN(v6, tcpAt: 44)
        // LOOP is never byte-swapped: host-order AF_INET is an unknown family there.
        let swapped = PacketDecoder.decode([0x02, 0x00, 0x00, 0x00] + Fixture.ipv4SYN, linkType: .loop)
        #expect(swapped.ip == nil && swapped.problem == nil)
    }

    @Test func unknownLinkType() {
        let p = PacketDecoder.decode(Fixture.ethernetSYN, linkType: LinkType(rawValue: 147))
        #expect(p.problem == .invalid(layer: "link", reason: "unsupported link type"))
        #expect(p.ip == nil)
        #expect(p.linkType.description == "linktype 147")
    }

    @Test func ethernetPaddingIsIgnored() {
        // A bare ACK: 54 bytes padded to the 60-byte Ethernet minimum.
        var frame = Fixture.ethernetHeaderIPv4 + patched(Fixture.ipv4SYNHeader, at: 2, with: [0x00, 0x28])
        frame += Array(Fixture.tcpSYN[0..<12]) + [0x50, 0x10] + Array(Fixture.tcpSYN[14..<20])
        frame += [UInt8](repeating: 0, count: 6)
        let p = PacketDecoder.decode(frame, linkType: .ethernet)
        #expect(p.problem == nil)
        #expect(p.tcp?.flags == .ack)
        #expect(p.tcp?.payloadLength == 0)
        #expect(p.tcp?.capturedPayloadLength == 0)
    }
}
