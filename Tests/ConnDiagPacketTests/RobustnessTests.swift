import Testing
@testable import ConnDiagPacket

/// A fixture, its link type, and where its headers end (a prefix shorter than that must be
/// reported as truncated; a longer one only cuts payload, which is not a problem).
struct TruncationCase: CustomStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var linkType: LinkType
    var headersEnd: Int
    var description: String { name }
}

let truncationCases: [TruncationCase] = [
    TruncationCase(name: "ethernet SYN", bytes: Fixture.ethernetSYN, linkType: .ethernet, headersEnd: 74),
    TruncationCase(name: "loopback SYN", bytes: Fixture.loopbackSYN, linkType: .ethernet, headersEnd: 74),
    TruncationCase(name: "QinQ SYN", bytes: Fixture.vlanSYN, linkType: .ethernet, headersEnd: 82),
    TruncationCase(name: "SLL IPv6 SYN", bytes: Fixture.sllIPv6SYN, linkType: .linuxSLL, headersEnd: 96),
    TruncationCase(name: "SLL2 IPv6 SYN", bytes: Fixture.sll2IPv6SYN, linkType: .linuxSLL2, headersEnd: 100),
    TruncationCase(name: "raw IPv4 SYN", bytes: Fixture.ipv4SYN, linkType: .raw, headersEnd: 60),
    TruncationCase(name: "IPv6 ext headers", bytes: Fixture.ipv6HopByHopFragmentSYN, linkType: .rawLinktype, headersEnd: 96),
    TruncationCase(name: "NULL IPv4", bytes: [2, 0, 0, 0] + Fixture.ipv4SYN, linkType: .null, headersEnd: 64),
    TruncationCase(name: "LOOP IPv6", bytes: [0, 0, 0, 24] + Fixture.ipv6SYN, linkType: .loop, headersEnd: 84),
    TruncationCase(name: "ICMP host unreachable", bytes: Fixture.ethernetHostUnreachable, linkType: .ethernet, headersEnd: 70),
    TruncationCase(name: "ICMPv6 port unreachable", bytes: Fixture.icmpv6PortUnreachable, linkType: .ipv6, headersEnd: 96),
    TruncationCase(name: "TCP data", bytes: Fixture.ethernetSnappedData, linkType: .ethernet, headersEnd: 66),
]

@Suite struct RobustnessTests {
    @Test(arguments: truncationCases)
    func everyPrefix(_ c: TruncationCase) {
        let full = PacketDecoder.decode(c.bytes, linkType: c.linkType)
        #expect(full.problem == nil)
        for n in 0..<c.bytes.count {
            let p = PacketDecoder.decode(Array(c.bytes[0..<n]), linkType: c.linkType)
            checkInvariants(p, count: n)
            if n < c.headersEnd {
                guard case .truncated? = p.problem else {
                    Issue.record("\(c.name): prefix \(n) gave \(String(describing: p.problem))"); continue
                }
            } else {
                #expect(p.problem == nil, "\(c.name): prefix \(n)")
                #expect(p.transport == full.transport || p.tcp?.capturedPayloadLength == n - c.headersEnd)
            }
        }
    }

    @Test func prefixesKeepTheLayersThatDecoded() {
        for n in 0..<Fixture.ethernetSYN.count {
            let p = PacketDecoder.decode(Array(Fixture.ethernetSYN[0..<n]), linkType: .ethernet)
            #expect(p.problem == .truncated(layer: n < 14 ? "ethernet" : n < 34 ? "ipv4" : "tcp"), "prefix \(n)")
            #expect((p.ip != nil) == (n >= 34), "prefix \(n)")
            #expect((p.tcp != nil) == (n >= 54), "prefix \(n)")
            if n >= 54 { #expect(p.tcp?.sequence == 1000) }
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(seed: 0xC0DD_1A6)
        let linkTypes: [Int32] = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147, -1]
        let seeds: [(LinkType, [UInt8])] = [
            (.ethernet, Fixture.ethernetSYN), (.ethernet, Fixture.vlanSYN), (.linuxSLL, Fixture.sllIPv6SYN),
            (.linuxSLL2, Fixture.sll2IPv6SYN), (.raw, Fixture.ipv6HopByHopFragmentSYN),
            (.ethernet, Fixture.ethernetHostUnreachable), (.ipv6, Fixture.icmpv6PortUnreachable),
            (.ethernet, Fixture.ethernetSnappedData), (.null, [2, 0, 0, 0] + Fixture.ipv4SYN),
        ]
        var decodedTCP = 0
        for i in 0..<20_000 {
            let linkType: LinkType
            var bytes: [UInt8]
            if i % 2 == 0 {
                // Pure noise of a random length.
                linkType = LinkType(rawValue: linkTypes[Int(rng.next() % UInt64(linkTypes.count))])
                bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                // Steer the version nibble towards IP often enough to reach the deeper decoders.
                if !bytes.isEmpty, rng.next() % 2 == 0 { bytes[0] = rng.next() % 2 == 0 ? 0x45 : 0x60 }
            } else {
                // A valid packet with a few bytes changed, then cut at a random length.
                let seed = seeds[Int(rng.next() % UInt64(seeds.count))]
                linkType = seed.0
                bytes = seed.1
                for _ in 0..<(1 + rng.next() % 4) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                bytes = Array(bytes[0..<Int(rng.next() % UInt64(bytes.count + 1))])
            }
            let p = PacketDecoder.decode(bytes, linkType: linkType, wireLength: Int(rng.next() % 4000))
            checkInvariants(p, count: bytes.count)
            if p.tcp != nil { decodedTCP += 1 }
        }
        #expect(decodedTCP > 1000) // the mutations really did reach the TCP decoder
    }
}

func checkInvariants(_ p: DecodedPacket, count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    if let tcp = p.tcp {
        #expect(tcp.payloadLength >= 0, sourceLocation: sourceLocation)
        #expect(tcp.capturedPayloadLength >= 0, sourceLocation: sourceLocation)
        #expect(tcp.capturedPayloadLength <= tcp.payloadLength, sourceLocation: sourceLocation)
        #expect(tcp.capturedPayloadLength == 0 || tcp.payloadOffset + tcp.capturedPayloadLength <= count,
                sourceLocation: sourceLocation)
        #expect(tcp.headerLength >= 20 && tcp.headerLength <= 60, sourceLocation: sourceLocation)
    }
    if let ip = p.ip {
        #expect(ip.version == 4 || ip.version == 6, sourceLocation: sourceLocation)
        #expect(ip.totalLength >= 0, sourceLocation: sourceLocation)
    }
}

/// Deterministic PRNG (SplitMix64) so a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
