import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Testing

/// TCP verdicts on captures other projects recorded (Fixtures/wild) and on crafted ones for
/// the classes the wild files lack. Expectations come from tshark on the same file
/// (`-T fields -e tcp.stream -e frame.time_relative -e tcp.flags.str`, `-z conv,tcp`) and
/// RFC 9293 / Linux behaviour, never from what analyze printed before.
@Suite struct WildTCPTests {
    func wild(_ file: String) throws -> AnalyzeResult { try Fixture.analyze(path: Fixture.wild(file)) }
    func kinds(_ r: AnalyzeResult) -> [String] { r.findings.map(\.kind) }
    func critical(_ r: AnalyzeResult) -> [Finding] { r.findings.filter { $0.severity == .critical } }

    @Test func injectedRSTWithABadACKIsIgnored() throws {
        // tshark: one stream; frame 2 RST/ACK ack=ISN (not ISN+1) at 0.2337, SYN-ACK at 1.266,
        // data, the server's RST (seq = the client's ack) at 2.853, a last RST at 4.134.
        let r = try wild("zeek-rst-inject.pcap")
        #expect(r.connections.count == 1)
        let c = try #require(r.connections.first)
        #expect(c.outcome.status == .closed && c.outcome.mechanism == .peerRst)
        #expect(near(c.outcome.detectedAt, 2.853, 0.002))
        let ignored = try #require(c.findings.first { $0.kind == "rst-ignored" })
        #expect(near(ignored.t, 0.2337, 0.001) && ignored.severity == .warning)
        #expect(!c.events.contains { $0.detail.contains("already reset") && $0.t < 3 })
        #expect(!c.outcome.summary.contains("nothing listens"))
    }

    @Test func aLoneSYNAtTheEndIsTooShortToJudge() throws {
        let r = try wild("zeek-syn-only.pcap")
        let c = try #require(r.connections.first)
        #expect(c.outcome.status == .undetermined)
        #expect(critical(r).isEmpty)
        #expect(kinds(r) == ["syn-capture-too-short"])
    }

    @Test func aFINRetransmittedMinutesLaterIsTheSameConnection() throws {
        // tshark: all 53 frames in tcp.stream 0; 7 SYNs, SYN-ACK at 9.454; the client's FIN
        // at 19.257 sent 5 more times up to 285.8 s, never acknowledged.
        let r = try wild("zeek-socks-syn-retries.pcap")
        #expect(r.connections.count == 1)
        let c = try #require(r.connections.first)
        #expect(!c.midConnection && c.packets == 53)
        #expect(c.outcome.mechanism == .peerFin)
        let syn = try #require(c.findings.first { $0.kind == "syn-retransmitted" })
        #expect(syn.summary.contains("6 SYN retransmissions") && syn.severity == .warning)
        let fin = try #require(c.findings.first { $0.kind == "fin-unacknowledged" })
        #expect(fin.summary.contains("sent 6 times") && near(fin.t, 285.817, 0.01))
    }

    @Test func aClientsFINThenRSTEndsWithTheRST() throws {
        // Non-monotonic timestamps: the server's FIN (1.475) is recorded before the client's
        // FIN (0.5753) and RSTs (0.5753, 0.5755, 0.5755).
        let r = try wild("zeek-vnc-scanner.pcap")
        #expect(r.connections.count == 1)
        let c = try #require(r.connections.first)
        #expect(c.outcome.status == .closed && c.outcome.mechanism == .rst)
        #expect(near(c.outcome.detectedAt, 0.5753, 0.001))
        #expect(c.outcome.summary.contains("the client reset"))
        #expect(!c.findings.contains { $0.kind == "rst-ignored" })
    }

    @Test(arguments: [("tcpd-mptcp-rst.pcap", Mechanism.rst), ("tcpd-tcp-rst-data.pcap", .peerRst),
                      ("zeek-retransmit-fast.pcap", .rst), ("grpc-server-streaming.pcapng", .rst)])
    func resetsTsharkSees(_ file: String, _ mechanism: Mechanism) throws {
        let r = try wild(file)
        #expect(r.connections.count == 1)
        let c = try #require(r.connections.first)
        #expect(c.outcome.mechanism == mechanism)
        #expect(!c.findings.contains { $0.kind == "rst-ignored" })
        #expect(critical(r).isEmpty)
    }

    @Test(arguments: [("sv-syn-retransmit-ts.pcap", 1), ("sv-smtp-icmp-fragneeded.pcap", 1), ("sv-http-icmp-fragneeded-multi.pcap", 7),
                      ("zeek-ipv6-http.pcap", 4), ("lw-simple-http-sll2.pcap", 2), ("tcpd-handshake-nano.pcap", 1)])
    func healthyConnectionsAsTsharkCountsThem(_ file: String, _ streams: Int) throws {
        let r = try wild(file)
        #expect(r.connections.count == streams)
        #expect(r.connections.allSatisfy { !$0.midConnection })
        #expect(critical(r).isEmpty)
        #expect(!r.findings.contains { ["rst-ignored", "syn-unanswered", "one-direction", "fin-unacknowledged", "scan"].contains($0.kind) })
    }

    @Test func oneSYNRetransmissionBeforeTheSYNAckIsANotice() throws {
        let r = try wild("sv-syn-retransmit-ts.pcap")
        let f = try #require(r.findings.first { $0.kind == "syn-retransmitted" })
        #expect(f.severity == .notice)
    }

    // MARK: - Crafted captures

    @Test func aSYNScanOf200PortsIsOneFinding() throws {
        var p = PcapBuilder()
        let scanner = "10.9.0.1", target = "10.9.0.2"
        for i in 0..<200 {
            let port = UInt16(1 + i), t = Double(i) * 0.001, sport = UInt16(40000)
            p.tcp(t, scanner, sport, target, port, [.syn], seq: 1000)
            if port == 22 || port == 80 {
                p.tcp(t + 0.0002, target, port, scanner, sport, [.syn, .ack], seq: 5000, ack: 1001)
                p.tcp(t + 0.0003, scanner, sport, target, port, [.rst], seq: 1001)
            } else {
                p.tcp(t + 0.0002, target, port, scanner, sport, [.rst, .ack], seq: 0, ack: 1001)
            }
        }
        let r = try Fixture.analyze(path: p.write())
        #expect(r.connections.count == 200)
        #expect(critical(r).isEmpty)
        let scans = r.findings.filter { $0.kind == "scan" }
        #expect(scans.count == 1)
        #expect(scans.first?.summary.contains("200 connection attempts to 200 ports") == true)
        #expect(scans.first?.summary.contains("198 refused") == true)
        #expect(r.findings.filter { $0.severity >= .warning }.count == 1)
    }

    @Test func finAndXmasProbesAnsweredByRST() throws {
        var p = PcapBuilder()
        for i in 0..<12 {
            let port = UInt16(100 + i), t = Double(i) * 0.01
            p.tcp(t, "10.9.0.1", 50000, "10.9.0.2", port, i % 2 == 0 ? [.fin] : [.fin, .psh, .urg], seq: 7000)
            p.tcp(t + 0.001, "10.9.0.2", port, "10.9.0.1", 50000, [.rst, .ack], seq: 0, ack: 7001)
        }
        let r = try Fixture.analyze(path: p.write())
        #expect(r.connections.count == 12)
        #expect(r.connections.allSatisfy { $0.outcome.status == .refused && $0.outcome.mechanism == .rst })
        #expect(r.connections.allSatisfy { c in c.findings.contains { $0.kind == "scan-probe" } })
        #expect(r.findings.filter { $0.kind == "scan" }.count == 1)
        #expect(critical(r).isEmpty)
    }

    @Test func oneDirectionIsSaidAndNotUnanswered() throws {
        var p = PcapBuilder()
        let c = "10.1.0.1", s = "10.1.0.2"
        p.tcp(0, c, 40000, s, 80, [.syn], seq: 100)
        p.tcp(0.02, c, 40000, s, 80, [.ack], seq: 101, ack: 9001)
        p.tcp(0.021, c, 40000, s, 80, [.ack, .psh], seq: 101, ack: 9001, len: 80)
        p.tcp(0.08, c, 40000, s, 80, [.ack], seq: 181, ack: 10001)
        p.tcp(0.09, c, 40000, s, 80, [.ack, .fin], seq: 181, ack: 10001)
        let r = try Fixture.analyze(path: p.write())
        #expect(r.connections.count == 1)
        #expect(kinds(r).contains("one-direction"))
        #expect(!kinds(r).contains("syn-unanswered"))
        #expect(critical(r).isEmpty)
    }

    @Test func doublingRetransmissionsIntoSilenceAreAFinding() throws {
        var p = PcapBuilder()
        let c = "10.1.0.1", s = "10.1.0.2"
        p.handshake(c, s)
        p.tcp(1.0, c, 40000, s, 80, [.ack, .psh], seq: 101, ack: 9001, len: 100)
        for t in [1.2, 1.6, 2.4, 4.0, 7.2, 13.6] { p.tcp(t, c, 40000, s, 80, [.ack, .psh], seq: 101, ack: 9001, len: 100) }
        p.tcp(14.0, s, 80, "10.1.0.9", 9, [.ack], seq: 1, ack: 1)  // another flow: the capture goes on
        let r = try Fixture.analyze(path: p.write())
        let conn = try #require(r.connections.first)
        let f = try #require(conn.findings.first { $0.kind == "retransmitting" })
        #expect(f.severity == .critical)
        #expect(conn.outcome.predictedAt != nil)
        #expect(r.outcome.summary.contains("nothing wrong") == false)
    }

    @Test func fastOpenDataInTheSYNIsNotMissing() throws {
        var p = PcapBuilder()
        let c = "10.1.0.1", s = "10.1.0.2"
        p.tcp(0, c, 40000, s, 80, [.syn], seq: 100, len: 60)
        p.tcp(0.01, s, 80, c, 40000, [.syn, .ack], seq: 9000, ack: 161)
        p.tcp(0.011, c, 40000, s, 80, [.ack], seq: 161, ack: 9001)
        p.tcp(0.012, c, 40000, s, 80, [.ack, .psh], seq: 161, ack: 9001, len: 40)
        p.tcp(0.02, s, 80, c, 40000, [.ack, .psh], seq: 9001, ack: 201, len: 20)
        let r = try Fixture.analyze(path: p.write())
        let conn = try #require(r.connections.first)
        #expect(!conn.findings.contains { $0.kind == "capture-gap" })
        #expect(conn.findings.contains { $0.kind == "tcp-fast-open" && $0.summary.contains("acknowledged by the SYN-ACK") })
        #expect(conn.bytesClientToServer == 100)
    }

    @Test func aKeepaliveProbeThatIsTheLastPacketIsNotADeadPeer() throws {
        var p = PcapBuilder()
        let c = "10.1.0.1", s = "10.1.0.2"
        p.handshake(c, s)
        p.tcp(1.0, c, 40000, s, 80, [.ack, .psh], seq: 101, ack: 9001, len: 10)
        p.tcp(1.01, s, 80, c, 40000, [.ack], seq: 9001, ack: 111)
        p.tcp(61.01, c, 40000, s, 80, [.ack], seq: 110, ack: 9001)
        let r = try Fixture.analyze(path: p.write())
        #expect(!kinds(r).contains("keepalive-unanswered"))
        #expect(critical(r).isEmpty)
    }

    @Test func theClientsRSTAfterItsSYNIsAnAbort() throws {
        var p = PcapBuilder()
        p.tcp(0, "10.1.0.1", 40000, "10.1.0.2", 80, [.syn], seq: 100)
        p.tcp(0.3, "10.1.0.1", 40000, "10.1.0.2", 80, [.rst], seq: 101)
        p.tcp(3.0, "10.1.0.2", 80, "10.1.0.9", 9, [.ack], seq: 1, ack: 1)
        let r = try Fixture.analyze(path: p.write())
        let conn = try #require(r.connections.first)
        #expect(conn.outcome.status == .closed && conn.outcome.mechanism == .rst)
        #expect(conn.findings.contains { $0.kind == "client-abort" })
        #expect(critical(r).isEmpty)
    }

    @Test func anRSTOutsideTheWindowIsIgnored() throws {
        var p = PcapBuilder()
        let c = "10.1.0.1", s = "10.1.0.2"
        p.handshake(c, s)
        p.tcp(0.5, s, 80, c, 40000, [.rst], seq: 9001 &+ 5_000_000)
        p.tcp(1.0, c, 40000, s, 80, [.ack, .psh], seq: 101, ack: 9001, len: 10)
        p.tcp(1.01, s, 80, c, 40000, [.ack, .fin], seq: 9001, ack: 111)
        p.tcp(1.02, c, 40000, s, 80, [.ack, .fin], seq: 111, ack: 9002)
        p.tcp(1.03, s, 80, c, 40000, [.ack], seq: 9002, ack: 112)
        let r = try Fixture.analyze(path: p.write())
        let conn = try #require(r.connections.first)
        #expect(conn.outcome.mechanism == .peerFin)
        #expect(conn.findings.contains { $0.kind == "rst-ignored" })
    }
}

/// Path MTU discovery (RFC 1191 §6.3): after "fragmentation needed" the sender's segments
/// must fit the next-hop MTU. tshark on the wild captures: sv-smtp-icmp-fragneeded.pcap has 4
/// ICMP 3/4 with MTU 1492 from 192.168.1.1 (frames 26-30), after which the client's segments
/// carry 1452 bytes (ip.len 1492); sv-http-icmp-fragneeded-multi.pcap has 6, MTU 1500.
@Suite struct PathMTUTests {
    @Test func fragmentationNeededThenSmallerSegmentsIsPathMTUDiscoveryWorking() throws {
        let r = try Fixture.analyze(path: Fixture.wild("sv-smtp-icmp-fragneeded.pcap"))
        let c = try #require(r.connections.first)
        let f = try #require(c.findings.first { $0.kind == "path-mtu" })
        #expect(f.severity == .info)
        #expect(f.summary.contains("4 ICMP messages") && f.summary.contains("MTU 1492") && f.summary.contains("192.168.1.1"))
        #expect(f.summary.contains("1452 bytes"))
        #expect(!c.findings.contains { $0.kind == "path-mtu-ignored" })
        let multi = try Fixture.analyze(path: Fixture.wild("sv-http-icmp-fragneeded-multi.pcap"))
        // tshark -Y icmp: frames 9, 20 (port 64540), 58, 69 (64670), 78 (64694), 117 (64736).
        let counts = Dictionary(uniqueKeysWithValues: multi.connections.compactMap { c -> (UInt16, Int)? in
            guard let f = c.findings.first(where: { $0.kind == "path-mtu" }) else { return nil }
            return (c.client.port, Int(f.summary.prefix { $0 != " " })!)
        })
        #expect(counts == [64540: 2, 64670: 2, 64694: 1, 64736: 1])
    }

    @Test func aSenderThatKeepsSendingTooLargeSegmentsIsAWarning() throws {
        var b = PcapBuilder()
        b.handshake("10.1.0.1", "10.1.0.2")
        b.tcp(0.02, "10.1.0.1", 40000, "10.1.0.2", 80, [.ack], seq: 101, ack: 9001, len: 1460)
        b.fragmentationNeeded(0.03, router: "10.1.0.254", to: "10.1.0.1", mtu: 1400, quoting: "10.1.0.1", 40000, "10.1.0.2", 80, seq: 101)
        b.tcp(0.25, "10.1.0.1", 40000, "10.1.0.2", 80, [.ack], seq: 101, ack: 9001, len: 1460)
        b.fragmentationNeeded(0.26, router: "10.1.0.254", to: "10.1.0.1", mtu: 1400, quoting: "10.1.0.1", 40000, "10.1.0.2", 80, seq: 101)
        b.tcp(0.7, "10.1.0.1", 40000, "10.1.0.2", 80, [.ack], seq: 101, ack: 9001, len: 1460)
        let r = try Fixture.analyze(path: b.write())
        let c = try #require(r.connections.first)
        let f = try #require(c.findings.first { $0.kind == "path-mtu-ignored" })
        #expect(f.severity == .warning)
        #expect(f.summary.contains("2 ICMP messages") && f.summary.contains("1460-byte") && f.summary.contains("at most 1360"))
    }
}

/// A classic pcap (microseconds, Ethernet) built packet by packet: IPv4 + TCP headers with
/// zero checksums (analyze does not verify them) and zero-filled payloads.
struct PcapBuilder {
    struct Flags: OptionSet { let rawValue: UInt8
        static let fin = Flags(rawValue: 1), syn = Flags(rawValue: 2), rst = Flags(rawValue: 4)
        static let psh = Flags(rawValue: 8), ack = Flags(rawValue: 16), urg = Flags(rawValue: 32)
    }
    var out: [UInt8] = []

    init() {
        le32(0xA1B2_C3D4); le16(2); le16(4); le32(0); le32(0); le32(65535); le32(1)
    }
    mutating func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    mutating func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    static func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func be16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func ip(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }

    /// The client 10.x:40000 to the server :80: SYN (seq 100) at 0, SYN-ACK (seq 9000) at
    /// 0.01, ACK at 0.011; window scale 7 both ways.
    mutating func handshake(_ c: String, _ s: String) {
        tcp(0, c, 40000, s, 80, [.syn], seq: 100, options: [3, 3, 7, 1])
        tcp(0.01, s, 80, c, 40000, [.syn, .ack], seq: 9000, ack: 101, options: [3, 3, 7, 1])
        tcp(0.011, c, 40000, s, 80, [.ack], seq: 101, ack: 9001)
    }

    mutating func tcp(_ t: Double, _ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16, _ flags: Flags,
                      seq: UInt32, ack: UInt32 = 0, len: Int = 0, window: UInt16 = 512, options: [UInt8] = []) {
        let tcpLen = 20 + options.count
        var tcp = Self.be16(sport) + Self.be16(dport) + Self.be32(seq) + Self.be32(ack)
        tcp += [UInt8(tcpLen / 4) << 4, flags.rawValue] + Self.be16(window) + [0, 0, 0, 0] + options
        tcp += [UInt8](repeating: 0, count: len)
        let total = 20 + tcp.count
        let ipHeader: [UInt8] = [0x45, 0] + Self.be16(UInt16(total)) + [0, 0, 0x40, 0, 64, 6, 0, 0] + Self.ip(src) + Self.ip(dst)
        let frame = [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + ipHeader + tcp
        let usec = UInt64((t * 1e6).rounded())
        le32(UInt32(1_700_000_000 + usec / 1_000_000)); le32(UInt32(usec % 1_000_000))
        le32(UInt32(frame.count)); le32(UInt32(frame.count))
        out += frame
    }

    /// ICMP 3/4 "fragmentation needed" (RFC 1191) from `router` to `to`, quoting the IPv4
    /// header and first 8 TCP bytes of a segment `quotedSrc:quotedSport -> quotedDst:quotedDport`.
    mutating func fragmentationNeeded(_ t: Double, router: String, to: String, mtu: UInt16,
                                      quoting quotedSrc: String, _ quotedSport: UInt16, _ quotedDst: String, _ quotedDport: UInt16, seq: UInt32) {
        let quotedIP: [UInt8] = [0x45, 0] + Self.be16(1500) + [0, 0, 0x40, 0, 64, 6, 0, 0] + Self.ip(quotedSrc) + Self.ip(quotedDst)
        let quote = quotedIP + Self.be16(quotedSport) + Self.be16(quotedDport) + Self.be32(seq)
        let icmp: [UInt8] = [3, 4, 0, 0, 0, 0] + Self.be16(mtu) + quote
        let total = 20 + icmp.count
        let ipHeader: [UInt8] = [0x45, 0] + Self.be16(UInt16(total)) + [0, 0, 0, 0, 64, 1, 0, 0] + Self.ip(router) + Self.ip(to)
        let frame = [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + ipHeader + icmp
        let usec = UInt64((t * 1e6).rounded())
        le32(UInt32(1_700_000_000 + usec / 1_000_000)); le32(UInt32(usec % 1_000_000))
        le32(UInt32(frame.count)); le32(UInt32(frame.count))
        out += frame
    }

    func write() -> String { Fixture.temporary(out) }
}
