import Testing
@testable import ConnDiagPacket

@Suite struct ICMPTests {
    @Test func hostUnreachableQuotingSYN() {
        let p = PacketDecoder.decode(Fixture.ethernetHostUnreachable, linkType: .ethernet)
        #expect(p.problem == nil)
        #expect(p.ip?.protocolNumber == 1)
        #expect(p.ip?.source == IPAddress("10.0.0.254"))
        guard let icmp = p.icmp else { Issue.record("no ICMP"); return }
        #expect(icmp.version == 4)
        #expect(icmp.type == .destinationUnreachable)
        #expect(icmp.code == 1)
        #expect(icmp.isError)
        #expect(icmp.mtu == nil)
        #expect(icmp.quoted == QuotedFlow(source: .v4(0x0A00_0001), destination: .v4(0x0A00_0007),
                                          protocolNumber: 6, sourcePort: 54321, destinationPort: 443,
                                          sequence: 1000))
        #expect(icmp.linuxErrnoName == "EHOSTUNREACH")
        #expect(icmp.codeDescription == "host unreachable")
        #expect(icmp.typeName == "destination unreachable")
    }

    @Test func portUnreachableQuotingSYN() {
        let p = PacketDecoder.decode(Fixture.ethernetPortUnreachable, linkType: .ethernet)
        #expect(p.problem == nil)
        guard let icmp = p.icmp else { Issue.record("no ICMP"); return }
        #expect(icmp.code == 3)
        #expect(icmp.quoted?.sourcePort == 54321)
        #expect(icmp.quoted?.destinationPort == 443)
        #expect(icmp.quoted?.sequence == 1000)
        #expect(icmp.linuxErrnoName == "ECONNREFUSED")
        #expect(icmp.codeDescription == "port unreachable")
    }

    @Test func icmpv6PortUnreachableQuotingSYN() {
        let p = PacketDecoder.decode(Fixture.icmpv6PortUnreachable, linkType: .ipv6)
        #expect(p.problem == nil)
        #expect(p.ip?.protocolNumber == 58)
        guard let icmp = p.icmp else { Issue.record("no ICMPv6"); return }
        #expect(icmp.version == 6)
        #expect(icmp.type == .v6DestinationUnreachable)
        #expect(icmp.code == 4)
        #expect(icmp.quoted == QuotedFlow(source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8::7")!,
                                          protocolNumber: 6, sourcePort: 54321, destinationPort: 443,
                                          sequence: 1000))
        #expect(icmp.linuxErrnoName == "ECONNREFUSED")
        #expect(icmp.codeDescription == "port unreachable")
        #expect(icmp.typeName == "destination unreachable")
    }

    @Test func icmpv6QuoteWithExtensionHeaders() {
        let quoted = Fixture.ipv6HopByHopFragmentSYN
        var packet: [UInt8] = [
            0x60, 0x00, 0x00, 0x00,
            0x00, UInt8(8 + quoted.count), // payload length
            0x3A, 0x40,                    // ICMPv6, hop limit 64
        ] + Fixture.ipv6Destination + Fixture.ipv6Source
        packet += [0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] // address unreachable
        packet += quoted
        let p = PacketDecoder.decode(packet, linkType: .ipv6)
        #expect(p.problem == nil)
        #expect(p.icmp?.quoted?.protocolNumber == 6)
        #expect(p.icmp?.quoted?.sequence == 1000)
        #expect(p.icmp?.linuxErrnoName == "EHOSTUNREACH")
        #expect(p.icmp?.codeDescription == "address unreachable")
    }

    @Test func quoteShorterThanEightTransportBytes() {
        // A sender that quoted only 4 TCP bytes: ports, no sequence, no problem.
        var packet = Array(Fixture.icmpUnreachable(code: 3, from: [10, 0, 0, 7]).dropLast(4))
        packet = patched(packet, at: 2, with: [0x00, 0x34])
        let p = PacketDecoder.decode(packet, linkType: .ipv4)
        #expect(p.problem == nil)
        #expect(p.icmp?.quoted?.destinationPort == 443)
        #expect(p.icmp?.quoted?.sequence == nil)
    }

    @Test func fragmentationNeededCarriesMTU() {
        var packet = Fixture.icmpUnreachable(code: 4, from: [10, 0, 0, 254])
        packet = patched(packet, at: 26, with: [0x05, 0x78]) // next-hop MTU 1400
        let icmp = PacketDecoder.decode(packet, linkType: .ipv4).icmp
        #expect(icmp?.mtu == 1400)
        #expect(icmp?.linuxErrnoName == nil)
        #expect(icmp?.codeDescription == "fragmentation needed")
    }

    @Test func echoHasNoQuote() {
        let echo: [UInt8] = [
            0x45, 0x00, 0x00, 0x1C, // IPv4, total length 28
            0x00, 0x03, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, // id, flags, TTL, ICMP, checksum
            0x0A, 0x00, 0x00, 0x01, 0x0A, 0x00, 0x00, 0x07, // 10.0.0.1 -> 10.0.0.7
            0x08, 0x00,             // echo request, code 0
            0x00, 0x00,             // checksum
            0x12, 0x34, 0x00, 0x01, // identifier, sequence
        ]
        let p = PacketDecoder.decode(echo, linkType: .ipv4)
        #expect(p.problem == nil)
        #expect(p.icmp == ICMPMessage(version: 4, type: .echoRequest, code: 0))
        #expect(p.icmp?.isError == false)
        #expect(p.icmp?.linuxErrnoName == nil)
        #expect(p.icmp?.typeName == "echo request")
        #expect(p.icmp?.codeDescription == "echo request")
    }

    @Test func quotedPacketNotIPv4() {
        let packet = patched(Fixture.icmpUnreachable(code: 1, from: [10, 0, 0, 254]), at: 28, with: [0x65])
        let p = PacketDecoder.decode(packet, linkType: .ipv4)
        #expect(p.problem == .invalid(layer: "icmp", reason: "quoted packet is not IPv4"))
        #expect(p.icmp?.code == 1)
        #expect(p.icmp?.quoted == nil)
    }

    @Test func errnoTableMatchesKernel() {
        let v4: [(UInt8, UInt8, String?)] = [
            (3, 0, "ENETUNREACH"), (3, 1, "EHOSTUNREACH"), (3, 2, "ENOPROTOOPT"), (3, 3, "ECONNREFUSED"),
            (3, 4, nil), (3, 9, "ENETUNREACH"), (3, 10, "EHOSTUNREACH"), (3, 13, "EHOSTUNREACH"),
            (3, 16, nil), (11, 0, "EHOSTUNREACH"), (12, 0, "EPROTO"), (4, 0, nil), (5, 1, nil), (0, 0, nil),
        ]
        for (type, code, name) in v4 {
            #expect(ICMPMessage.linuxErrnoName(version: 4, type: type, code: code) == name, "ICMP \(type)/\(code)")
        }
        let v6: [(UInt8, UInt8, String?)] = [
            (1, 0, "ENETUNREACH"), (1, 1, "EACCES"), (1, 3, "EHOSTUNREACH"), (1, 4, "ECONNREFUSED"),
            (1, 9, "EPROTO"), (2, 0, nil), (3, 0, "EHOSTUNREACH"), (4, 1, "EPROTO"), (128, 0, nil),
        ]
        for (type, code, name) in v6 {
            #expect(ICMPMessage.linuxErrnoName(version: 6, type: type, code: code) == name, "ICMPv6 \(type)/\(code)")
        }
        #expect(ICMPMessage(version: 6, type: .v6DestinationUnreachable, code: 1).codeDescription == "admin prohibited")
        #expect(ICMPMessage(version: 4, type: .destinationUnreachable, code: 13).codeDescription == "admin prohibited")
        #expect(ICMPMessage(version: 4, type: .destinationUnreachable, code: 99).codeDescription
                == "destination unreachable code 99")
        #expect(ICMPType.v6PacketTooBig.name(version: 6) == "packet too big")
        #expect(ICMPType(rawValue: 2).name(version: 4) == "type 2")
    }
}
