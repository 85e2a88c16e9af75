import Testing
@testable import ConnDiagPacket

@Suite struct IPTests {
    @Test func ipv6HopByHopAndFragmentHeaders() {
        let p = PacketDecoder.decode(Fixture.ipv6HopByHopFragmentSYN, linkType: .raw)
        #expect(p.problem == nil)
        #expect(p.ip?.protocolNumber == 6)
        #expect(p.ip?.payloadOffset == 56)
        #expect(p.ip?.totalLength == 96)
        #expect(p.ip?.isFragment == true)
        #expect(p.ip?.isLaterFragment == false)
        expectSYN(p, tcpAt: 56)
    }

    @Test func ipv6LaterFragment() {
        // Fragment offset 23 (x 8 bytes), M set: no TCP header here.
        let later = patched(Fixture.ipv6HopByHopFragmentSYN, at: 50, with: [0x00, 0xB9])
        let p = PacketDecoder.decode(later, linkType: .raw)
        #expect(p.problem == nil)
        #expect(p.ip?.isLaterFragment == true)
        #expect(p.ip?.protocolNumber == 6)
        #expect(p.transport == .none)
    }

    @Test func ipv6DestinationOptionsRoutingAndAH() {
        let packet: [UInt8] = [
            0x60, 0x00, 0x00, 0x00, // version 6
            0x00, 0x50,             // payload length 80 = 16 dest opts + 8 routing + 16 AH + 40 TCP
            0x3C,                   // next header destination options
            0x01,                   // hop limit 1
        ] + Fixture.ipv6Source + Fixture.ipv6Destination + [
            0x2B, 0x01,             // dest options: next routing, length 1 -> 16 bytes
            0x01, 0x0C] + [UInt8](repeating: 0, count: 12) + [ // PadN 12
            0x33, 0x00,             // routing: next AH, length 0 -> 8 bytes
            0x04, 0x00, 0x00, 0x00, 0x00, 0x00, // type 4 (SRH), segments left 0, ...
            0x06, 0x02,             // AH: next TCP, length 2 -> (2 + 2) * 4 = 16 bytes
            0x00, 0x00,             //   reserved
            0x00, 0x00, 0x01, 0x00, //   SPI
            0x00, 0x00, 0x00, 0x01, //   sequence
            0x00, 0x00, 0x00, 0x00, //   ICV (4 bytes)
        ] + Fixture.tcpSYN
        let p = PacketDecoder.decode(packet, linkType: .ipv6)
        #expect(p.ip?.ttl == 1)
        #expect(p.ip?.payloadOffset == 80)
        #expect(p.ip?.isFragment == false)
        expectSYN(p, tcpAt: 80)
    }

    @Test func ipv6ExtensionHeaderBeyondPayload() {
        // Payload length 8, but the hop-by-hop header claims 16 bytes.
        var packet = patched(Fixture.ipv6HopByHopFragmentSYN, at: 4, with: [0x00, 0x08])
        packet = patched(packet, at: 41, with: [0x01])
        let p = PacketDecoder.decode(packet, linkType: .ipv6)
        #expect(p.problem == .invalid(layer: "ipv6", reason: "extension header beyond payload length"))
        #expect(p.ip?.protocolNumber == 0)
        #expect(p.transport == .none)
    }

    @Test func ipv6ESPAndNoNextHeaderAreOther() {
        let esp = patched(Fixture.ipv6SYN, at: 6, with: [50])
        #expect(PacketDecoder.decode(esp, linkType: .ipv6).transport == .other(protocolNumber: 50))
        let udp = patched(Fixture.ipv4SYN, at: 9, with: [17])
        #expect(PacketDecoder.decode(udp, linkType: .ipv4).transport == .other(protocolNumber: 17))
    }

    @Test func invalidIHL() {
        let bad = patched(Fixture.ethernetSYN, at: 14, with: [0x44])
        let p = PacketDecoder.decode(bad, linkType: .ethernet)
        #expect(p.problem == .invalid(layer: "ipv4", reason: "header length (IHL) below 5"))
        #expect(p.ip == nil)
        #expect(p.transport == .none)
        #expect(p.etherType == .ipv4)
    }

    @Test func totalLengthBelowHeaderLength() {
        let bad = patched(Fixture.ipv4SYN, at: 2, with: [0x00, 0x13])
        let p = PacketDecoder.decode(bad, linkType: .ipv4)
        #expect(p.problem == .invalid(layer: "ipv4", reason: "total length below header length"))
        #expect(p.ip == nil)
    }

    @Test func ipv4Options() {
        // IHL 6: one 4-byte option (NOP NOP NOP EOL) before TCP.
        var packet = patched(Fixture.ipv4SYNHeader, at: 0, with: [0x46])
        packet = patched(packet, at: 2, with: [0x00, 0x40])
        packet += [0x01, 0x01, 0x01, 0x00] + Fixture.tcpSYN
        let p = PacketDecoder.decode(packet, linkType: .ipv4)
        #expect(p.ip?.payloadOffset == 24)
        expectSYN(p, tcpAt: 24)
    }

    @Test func ipv4LaterFragment() {
        // Flags MF, fragment offset 185 (x 8 bytes): the bytes after the header are not TCP.
        let frag = patched(Fixture.ethernetSYN, at: 20, with: [0x20, 0xB9])
        let p = PacketDecoder.decode(frag, linkType: .ethernet)
        #expect(p.problem == nil)
        #expect(p.ip?.isLaterFragment == true)
        #expect(p.ip?.isFragment == true)
        #expect(p.ip?.protocolNumber == 6)
        #expect(p.transport == .none)
    }

    @Test func ipv4FirstFragmentDecodesTCP() {
        let first = patched(Fixture.ethernetSYN, at: 20, with: [0x20, 0x00]) // MF, offset 0
        let p = PacketDecoder.decode(first, linkType: .ethernet)
        #expect(p.ip?.isFragment == true)
        #expect(p.ip?.isLaterFragment == false)
        expectSYN(p, tcpAt: 34)
    }

    @Test func tsoTotalLengthZeroUsesWireLength() {
        // Linux shows TSO sends with IP total length 0; the capture was cut at 80 bytes of
        // a 2974-byte frame.
        var frame = Fixture.ethernetHeaderIPv4 + patched(Fixture.ipv4DataHeader, at: 2, with: [0x00, 0x00])
        frame += Fixture.tcpData + [UInt8](repeating: 0xAA, count: 14)
        let p = PacketDecoder.decode(frame, linkType: .ethernet, wireLength: 2974)
        #expect(p.problem == nil)
        #expect(p.ip?.totalLength == 2960)
        #expect(p.tcp?.payloadLength == 2974 - 66)
        #expect(p.tcp?.capturedPayloadLength == 14)
        // Without the wire length, the captured end is the best guess.
        #expect(PacketDecoder.decode(frame, linkType: .ethernet).tcp?.payloadLength == 14)
    }
}
