import Testing
@testable import ConnDiagPacket

@Suite struct TCPTests {
    @Test func snaplenCutThePayload() {
        let p = PacketDecoder.decode(Fixture.ethernetSnappedData, linkType: .ethernet)
        #expect(p.problem == nil)
        guard let tcp = p.tcp else { Issue.record("no TCP"); return }
        #expect(tcp.sourcePort == 443 && tcp.destinationPort == 54321)
        #expect(tcp.sequence == 10000 && tcp.acknowledgment == 1001)
        #expect(tcp.flags == [.ack, .psh])
        #expect(tcp.flags.description == "P.")
        #expect(tcp.window == 501)
        #expect(tcp.headerLength == 32)
        #expect(tcp.options.timestamp?.value == 16 && tcp.options.timestamp?.echoReply == 123456)
        #expect(tcp.options.mss == nil && tcp.options.windowScale == nil && !tcp.options.sackPermitted)
        #expect(tcp.payloadLength == 100)
        #expect(tcp.capturedPayloadLength == 20)
        #expect(tcp.payloadOffset == 66)
        #expect(Array(Fixture.ethernetSnappedData[tcp.payloadOffset...]) == Fixture.snappedPayload)
    }

    @Test func allFlagsAndNSBitIgnored() {
        let packet = patched(Fixture.ipv4SYN, at: 32, with: [0xA1, 0xFF]) // NS set, all 8 flags
        let tcp = PacketDecoder.decode(packet, linkType: .ipv4).tcp
        #expect(tcp?.flags == [.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr])
        #expect(tcp?.flags.rawValue == 0xFF)
        #expect(tcp?.flags.description == "SFRPUEW.")
    }

    @Test func sackBlocks() {
        let header: [UInt8] = [
            0x01, 0xBB, 0xD4, 0x31, // ports 443 -> 54321
            0x00, 0x00, 0x27, 0x10, // sequence
            0x00, 0x00, 0x03, 0xE9, // acknowledgment
            0x80, 0x10,             // data offset 8 (32 bytes), ACK
            0x01, 0xF5, 0x00, 0x00, 0x00, 0x00, // window, checksum, urgent
            0x01, 0x01,             // NOP NOP
            0x05, 0x0A,             // SACK, length 10: one block
            0x00, 0x00, 0x10, 0x00, //   left edge
            0x00, 0x00, 0x20, 0x00, //   right edge
        ]
        var ip = Fixture.ipv4DataHeader
        ip = patched(ip, at: 2, with: [0x00, 0x34]) // total length 52
        let p = PacketDecoder.decode(ip + header, linkType: .ipv4)
        #expect(p.problem == nil)
        #expect(p.tcp?.options.sackBlockCount == 1)
        #expect(p.tcp?.payloadLength == 0)
    }

    @Test func badOptionLength() {
        // MSS option with length 5 instead of 4.
        let mss = patched(Fixture.ethernetSYN, at: 54, with: [0x02, 0x05])
        let p = PacketDecoder.decode(mss, linkType: .ethernet)
        #expect(p.problem == .invalid(layer: "tcp", reason: "bad TCP option length"))
        #expect(p.tcp?.sourcePort == 54321) // the segment itself is kept
        #expect(p.tcp?.options.mss == nil)
        // Unknown option kind with length 1 after a valid MSS: MSS kept, parsing stops.
        let one = patched(Fixture.ethernetSYN, at: 58, with: [0xFE, 0x01])
        let q = PacketDecoder.decode(one, linkType: .ethernet)
        #expect(q.problem == .invalid(layer: "tcp", reason: "bad TCP option length"))
        #expect(q.tcp?.options.mss == 1460)
        #expect(q.tcp?.options.sackPermitted == false)
        // An option running past the header end.
        let past = patched(Fixture.ethernetSYN, at: 71, with: [0x03, 0x04])
        #expect(PacketDecoder.decode(past, linkType: .ethernet).problem
                == .invalid(layer: "tcp", reason: "bad TCP option length"))
        // Length 0 would loop forever in a naive parser.
        let zero = patched(Fixture.ethernetSYN, at: 54, with: [0x22, 0x00])
        #expect(PacketDecoder.decode(zero, linkType: .ethernet).problem
                == .invalid(layer: "tcp", reason: "bad TCP option length"))
    }

    @Test func endOfOptionListStopsParsing() {
        let eol = patched(Fixture.ethernetSYN, at: 58, with: [0x00, 0x02]) // EOL where SACK-perm was
        let p = PacketDecoder.decode(eol, linkType: .ethernet)
        #expect(p.problem == nil)
        #expect(p.tcp?.options.mss == 1460)
        #expect(p.tcp?.options.sackPermitted == false)
        #expect(p.tcp?.options.timestamp == nil)
    }

    @Test func dataOffsetBelowFive() {
        let bad = patched(Fixture.ipv4SYN, at: 32, with: [0x40])
        let p = PacketDecoder.decode(bad, linkType: .ipv4)
        #expect(p.problem == .invalid(layer: "tcp", reason: "data offset below 5"))
        #expect(p.tcp == nil)
        #expect(p.ip != nil)
    }

    @Test func dataOffsetBeyondIPPayload() {
        let bad = patched(Fixture.ipv4SYN, at: 32, with: [0xF0]) // 60 bytes, IP says 40
        let p = PacketDecoder.decode(bad, linkType: .ipv4)
        #expect(p.problem == .invalid(layer: "tcp", reason: "data offset beyond IP payload"))
        #expect(p.tcp?.headerLength == 60)
        #expect(p.tcp?.payloadLength == 0)
    }

    @Test func optionsCutByCaptureKeepTheSegment() {
        // Captured up to the middle of the timestamp option.
        let p = PacketDecoder.decode(Array(Fixture.ethernetSYN[0..<64]), linkType: .ethernet)
        #expect(p.problem == .truncated(layer: "tcp"))
        #expect(p.tcp?.sequence == 1000)
        #expect(p.tcp?.options.mss == 1460)
        #expect(p.tcp?.options.sackPermitted == true)
        #expect(p.tcp?.options.timestamp == nil)
        #expect(p.tcp?.capturedPayloadLength == 0)
    }

    @Test func ipPayloadTooShortForTCP() {
        let short = patched(Fixture.ipv4SYN, at: 2, with: [0x00, 0x20]) // 32: 12 bytes of TCP
        #expect(PacketDecoder.decode(short, linkType: .ipv4).problem
                == .invalid(layer: "tcp", reason: "IP payload shorter than a TCP header"))
    }

    @Test func timestampOptionEquality() {
        var a = TCPOptions()
        a.timestamp = (1, 2)
        a.timestamp = nil
        #expect(a == TCPOptions())
    }
}
