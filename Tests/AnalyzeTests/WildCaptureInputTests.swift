import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Testing

/// Capture input on public captures (Fixtures/wild) and crafted files: link types, pcapng
/// with several interfaces, merged files, clocks going backwards. Expectations from tshark
/// on the same files (the commands are in each test's comment) and the pcapng/LINKTYPE specs.
@Suite struct WildCaptureInputTests {
    /// `tshark -r tcpd-nflog.pcap -T fields -e frame.protocols`: 4 x nflog:ip:udp:dns.
    @Test func nflogPacketsAreDecoded() throws {
        let r = try Fixture.analyze(path: Fixture.wild("tcpd-nflog.pcap"))
        #expect(r.packets == 4 && r.tcpPackets == 0 && r.connections.isEmpty)
        #expect(r.notDecoded.isEmpty)
        #expect(r.notTCP == [InputCount(reason: "UDP", packets: 4)])
        #expect(!r.inputProblems.contains { $0.contains("could not be decoded") })
    }

    /// `tshark -r zeek-pcapng-multi-if.pcapng -T fields -e frame.interface_id -e frame.encap_type`:
    /// 2 packets on interface 0 and 4 on interface 1, all Ethernet, UDP DNS.
    @Test func pcapngWithTwoInterfaces() throws {
        let r = try Fixture.analyze(path: Fixture.wild("zeek-pcapng-multi-if.pcapng"))
        #expect(r.packets == 6 && !r.damaged && r.inputProblems.isEmpty)
        #expect(r.notTCP == [InputCount(reason: "UDP", packets: 6)])
        // The BPF filter runs per packet on the in-place reader (tshark -Y "udp.port==53": 6).
        let filtered = try Fixture.analyze(path: Fixture.wild("zeek-pcapng-multi-if.pcapng")) { $0.filter = "udp port 53" }
        #expect(filtered.packets == 6)
        let none = try Fixture.analyze(path: Fixture.wild("zeek-pcapng-multi-if.pcapng")) { $0.filter = "tcp" }
        #expect(none.packets == 0)
    }

    /// `tshark -r zeek-vnc-scanner.pcap -T fields -e frame.time_delta`: one negative delta.
    @Test func timestampsGoingBackwardsGiveNoNegativeTimes() throws {
        let r = try Fixture.analyze(path: Fixture.wild("zeek-vnc-scanner.pcap"))
        #expect(r.packets == 20)
        for c in r.connections {
            for e in c.events { #expect(e.t >= 0) }
        }
        #expect(r.inputProblems.contains { $0.contains("timestamps go backwards") })
    }

    /// Two files are merged by timestamp whatever the order given (zeek-syn-only.pcap is
    /// from 2013-03-07, tcpd-handshake-nano.pcap from 2014-12-09: `capinfos -a -e`).
    @Test func filesAreMergedByTimestamp() throws {
        let early = Fixture.wild("zeek-syn-only.pcap"), late = Fixture.wild("tcpd-handshake-nano.pcap")
        let inOrder = try AnalyzeEngine(options: AnalyzeOptions(files: [early, late])).run()
        let reversed = try AnalyzeEngine(options: AnalyzeOptions(files: [late, early])).run()
        #expect(inOrder.packets == 4 && reversed.packets == 4)
        #expect(inOrder.captureStartNanos == reversed.captureStartNanos)
        #expect(inOrder.captureStartNanos == 1_362_692_526_869_344_000)
        #expect(inOrder.connections.map { $0.client.description } == reversed.connections.map { $0.client.description })
        for r in [inOrder, reversed] { for c in r.connections { for e in c.events { #expect(e.t >= 0) } } }
        #expect(!inOrder.inputProblems.contains { $0.contains("out of time order") })
        #expect(reversed.inputProblems.contains { $0.contains("out of time order") })
        // The same file twice overlaps itself entirely.
        let twice = try AnalyzeEngine(options: AnalyzeOptions(files: [late, late])).run()
        #expect(twice.inputProblems.contains { $0.contains("overlap in time") })
    }

    /// An unsupported link type is named (LINKTYPE_USER0 is 147) and its packets counted.
    @Test func unsupportedLinkTypeIsNamed() throws {
        var file: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { file += $0 } }
        u32(0xA1B2_C3D4); file += [2, 0, 4, 0]; u32(0); u32(0); u32(65535); u32(147)
        for i in 0..<3 { u32(1_700_000_000); u32(UInt32(i)); u32(4); u32(4); file += [1, 2, 3, 4] }
        let r = try Fixture.analyze(path: Fixture.temporary(file))
        #expect(r.notDecoded == [InputCount(reason: "unsupported link type LINKTYPE_USER0 (147)", packets: 3)])
    }

    // MARK: pcapng crafted per the spec (draft-ietf-opsawg-pcapng)

    /// The SYN 10.0.0.1:40000 -> 10.0.0.2:80 as a raw IPv4 packet.
    static let syn: [UInt8] = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                               0x9C, 0x40, 0x00, 0x50, 0, 0, 0x03, 0xE8, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]

    struct Writer {
        var out: [UInt8] = []
        var big: Bool
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: big ? v.bigEndian : v.littleEndian) { out += $0 } }
        mutating func u16(_ v: UInt16) { withUnsafeBytes(of: big ? v.bigEndian : v.littleEndian) { out += $0 } }
        mutating func block(_ type: UInt32, _ body: (inout Writer) -> Void) {
            var inner = Writer(big: big)
            body(&inner)
            while inner.out.count % 4 != 0 { inner.out.append(0) }
            let total = UInt32(12 + inner.out.count)
            u32(type); u32(total); out += inner.out; u32(total)
        }
        mutating func section() {
            block(0x0A0D_0D0A) { w in w.u32(0x1A2B_3C4D); w.u16(1); w.u16(0); w.u32(0xFFFF_FFFF); w.u32(0xFFFF_FFFF) }
        }
        /// if_tsresol (9) and if_tsoffset (14) options.
        mutating func interface(_ linkType: UInt16, tsresol: UInt8?, tsoffset: Int64?) {
            block(1) { w in
                w.u16(linkType); w.u16(0); w.u32(262_144)
                if let r = tsresol { w.u16(9); w.u16(1); w.out += [r, 0, 0, 0] }
                if let o = tsoffset {
                    w.u16(14); w.u16(8)
                    let v = UInt64(bitPattern: o)
                    if w.big { w.u32(UInt32(v >> 32)); w.u32(UInt32(v & 0xFFFF_FFFF)) } else { w.u32(UInt32(v & 0xFFFF_FFFF)); w.u32(UInt32(v >> 32)) }
                }
                w.u16(0); w.u16(0)
            }
        }
        mutating func packet(interface: UInt32, units: UInt64, _ data: [UInt8]) {
            block(6) { w in
                w.u32(interface); w.u32(UInt32(units >> 32)); w.u32(UInt32(units & 0xFFFF_FFFF))
                w.u32(UInt32(data.count)); w.u32(UInt32(data.count)); w.out += data
            }
        }
    }

    /// Interfaces of three link types (Ethernet, raw IPv4, NFLOG) with microsecond, 2^-10 and
    /// nanosecond resolutions and an offset, an unknown block, then a big-endian section:
    /// every packet is the same SYN, so one connection with its SYN retransmissions.
    @Test func pcapngInterfacesOfDifferentLinkTypesAndSections() throws {
        var w = Writer(big: false)
        w.section()
        w.interface(1, tsresol: nil, tsoffset: nil)                 // Ethernet, microseconds
        w.interface(101, tsresol: 0x8A, tsoffset: 1_000)            // raw IP, 2^-10 s, +1000 s
        w.interface(239, tsresol: 9, tsoffset: nil)                 // NFLOG, nanoseconds
        w.block(0x0000_0BAD) { $0.out += [1, 2, 3, 4] }             // unknown: skipped
        let base: UInt64 = 1_700_000_000
        w.packet(interface: 0, units: base * 1_000_000, [UInt8](repeating: 2, count: 12) + [0x08, 0x00] + Self.syn)
        w.packet(interface: 1, units: (base - 1_000 + 1) << 10 | 512, Self.syn)   // base + 1.5 s
        let nflog: [UInt8] = [2, 0, 0, 0] + [UInt8(4 + Self.syn.count), 0, 9, 0] + Self.syn
        w.packet(interface: 2, units: (base + 3) * 1_000_000_000 + 250_000_000, nflog)
        var b = Writer(big: true)
        b.section()
        b.interface(101, tsresol: 3, tsoffset: nil)                 // milliseconds, big-endian
        b.packet(interface: 0, units: (base + 7) * 1_000, Self.syn)
        let r = try Fixture.analyze(path: Fixture.temporary(w.out + b.out, suffix: ".pcapng"))
        #expect(r.packets == 4 && r.tcpPackets == 4 && !r.damaged)
        #expect(r.inputProblems.isEmpty)
        #expect(r.captureStartNanos == Int64(base) * 1_000_000_000)
        #expect(abs(r.captureEnd - 7) < 1e-6)
        let syns = r.connections.first?.events.filter { $0.kind.rawValue.hasPrefix("syn") }.map { $0.t } ?? []
        #expect(syns.count == 4)
        #expect(syns.map { ($0 * 1000).rounded() } == [0, 1500, 3250, 7000])
    }

    /// A packet naming an interface never described is damage: what came before is analysed.
    @Test func pcapngPacketOnAnUndescribedInterface() throws {
        var w = Writer(big: false)
        w.section()
        w.interface(101, tsresol: nil, tsoffset: nil)
        w.packet(interface: 0, units: 1, Self.syn)
        w.packet(interface: 5, units: 2, Self.syn)
        let r = try Fixture.analyze(path: Fixture.temporary(w.out, suffix: ".pcapng"))
        #expect(r.packets == 1 && r.damaged)
        #expect(r.inputProblems.contains { $0.contains("bad record") && $0.contains("interface 5") })
        // Cut inside the last block: the file "ends inside a record", not damaged.
        let cut = try Fixture.analyze(path: Fixture.temporary(Array(w.out.dropLast(10)), suffix: ".pcapng"))
        #expect(cut.packets == 1 && !cut.damaged)
        #expect(cut.inputProblems.contains { $0.contains("ends inside a record") })
    }
}

/// Two capture points each seeing one direction (asymmetric routing, one tap per direction):
/// the lab's keepalive-death capture split by direction into two files, and into one pcapng
/// with two interfaces. Merged, the connection is the original one, with a note saying so.
@Suite struct AsymmetricCaptureTests {
    /// The fixture's records split by sender (IPv4 source at frame offset 26): the client's
    /// (the first packet's sender) and the server's.
    static func splitByDirection(_ name: String) -> (header: [UInt8], client: [[UInt8]], server: [[UInt8]]) {
        let (header, records) = Fixture.records(Fixture.bytes(name))
        let clientIP = Array(records[0][(16 + 26)..<(16 + 30)])
        let client = records.filter { Array($0[(16 + 26)..<(16 + 30)]) == clientIP }
        let server = records.filter { Array($0[(16 + 26)..<(16 + 30)]) != clientIP }
        return (header, client, server)
    }

    @Test func twoFilesEachWithOneDirection() throws {
        let (header, client, server) = Self.splitByDirection("keepalive-death")
        #expect(!client.isEmpty && !server.isEmpty)
        let a = Fixture.temporary(header + client.flatMap { $0 }), b = Fixture.temporary(header + server.flatMap { $0 })
        let plain = try Fixture.analyze("keepalive-death")
        let merged = try Fixture.analyze(path: a) { $0.files = [b, a] }
        try #require(merged.connections.count == 1 && plain.connections.count == 1)
        let m = merged.connections[0], p = plain.connections[0]
        #expect(m.outcome.status == p.outcome.status && m.outcome.mechanism == p.outcome.mechanism)
        let note = try #require(m.findings.first { $0.kind == "asymmetric-capture" })
        let aName = String(a.split(separator: "/").last!), bName = String(b.split(separator: "/").last!)
        #expect(note.summary.contains("client's packets were captured only on \(aName) interface 0"))
        #expect(note.summary.contains("server's only on \(bName) interface 0"))
        #expect(!p.findings.contains { $0.kind == "asymmetric-capture" })
        // Either file alone is one direction, said as such, never this note.
        let alone = try Fixture.analyze(path: a)
        #expect(!(alone.connections.first?.findings.contains { $0.kind == "asymmetric-capture" } ?? true))
    }

    @Test func onePcapngWithTwoInterfaces() throws {
        let (header, client, server) = Self.splitByDirection("keepalive-death")
        let linkType = UInt16(header[20]) | UInt16(header[21]) << 8
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u32(0x0A0D_0D0A); u32(28); u32(0x1A2B_3C4D); u16(1); u16(0); u32(0xFFFF_FFFF); u32(0xFFFF_FFFF); u32(28)
        for _ in 0..<2 {  // two interfaces, nanosecond resolution
            u32(1); u32(32); u16(linkType); u16(0); u32(262_144); u16(9); u16(1); out += [9, 0, 0, 0]; u16(0); u16(0); u32(32)
        }
        let tagged = client.map { (0, $0) } + server.map { (1, $0) }
        func ts(_ r: [UInt8]) -> UInt64 {
            let sec = UInt64(UInt32(r[0]) | UInt32(r[1]) << 8 | UInt32(r[2]) << 16 | UInt32(r[3]) << 24)
            let frac = UInt64(UInt32(r[4]) | UInt32(r[5]) << 8 | UInt32(r[6]) << 16 | UInt32(r[7]) << 24)
            return sec * 1_000_000_000 + frac  // the fixtures are nanosecond pcaps
        }
        for (interface, r) in tagged.sorted(by: { ts($0.1) < ts($1.1) }) {
            let data = Array(r[16...]), padded = (data.count + 3) & ~3, t = ts(r)
            u32(6); u32(UInt32(32 + padded)); u32(UInt32(interface)); u32(UInt32(t >> 32)); u32(UInt32(t & 0xFFFF_FFFF))
            u32(UInt32(data.count)); u32(UInt32(data.count))
            out += data + [UInt8](repeating: 0, count: padded - data.count)
            u32(UInt32(32 + padded))
        }
        let r = try Fixture.analyze(path: Fixture.temporary(out, suffix: ".pcapng"))
        let c = try #require(r.connections.first)
        let note = try #require(c.findings.first { $0.kind == "asymmetric-capture" })
        #expect(note.summary.contains("client's packets were captured only on interface 0, the server's only on interface 1"))
        #expect(c.outcome.mechanism == (try Fixture.analyze("keepalive-death")).connections[0].outcome.mechanism)
    }
}
