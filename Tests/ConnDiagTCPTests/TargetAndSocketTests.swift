import Testing
import Glibc
import ConnDiagCore
import ConnDiagPacket
@testable import ConnDiagTCP
import ConnDiagPlatform

struct TargetSpecTests {
    @Test(arguments: [("10.0.0.7:443", "10.0.0.7", 443), ("[::1]:8080", "::1", 8080), ("db.internal:5432", "db.internal", 5432),
                      ("[fe80::1%eth0]:22", "fe80::1%eth0", 22)])
    func parses(text: String, host: String, port: Int) throws {
        let t = try TargetSpec(parsing: text)
        #expect(t.host == host)
        #expect(Int(t.port) == port)
    }

    @Test(arguments: ["10.0.0.7", "10.0.0.7:0", "10.0.0.7:65536", "10.0.0.7:http", "::1:80", "[::1", "[::1]80", ":80", "[]:80"])
    func rejects(text: String) {
        #expect(throws: ConnDiagError.self) { try TargetSpec(parsing: text) }
    }

    @Test func literalAddressesSkipDNS() throws {
        #expect(try Resolver.resolve("127.0.0.1") == [IPAddress("127.0.0.1")!])
        #expect(try Resolver.resolve("::1", family: .v6) == [IPAddress("::1")!])
        #expect(throws: ConnDiagError.self) { try Resolver.resolve("::1", family: .v4) }
    }
}

/// Real kernel sockets on loopback: options go in and read back.
struct SocketOptionTests {
    @Test func optionsReadBack() throws {
        let s = try TCPSocket(family: AF_INET)
        try s.apply(SocketOptions(keepalive: true, keepIdle: 15, keepIntvl: 5, keepCnt: 4, userTimeoutMs: 9000, synCnt: 3, noDelay: true))
        let e = try s.effectiveOptions()
        #expect(e == EffectiveSocketOptions(keepalive: true, keepIdle: 15, keepIntvl: 5, keepCnt: 4, userTimeoutMs: 9000, synCnt: 3, noDelay: true))
        let json = e.json(source: nil)
        #expect(json.contains { $0.0 == "keepidle_s" && $0.1 == .int(15) })
        #expect(json.contains { $0.0 == "user_timeout_ms" && $0.1 == .int(9000) })
    }

    @Test func kernelRejectionNamesTheOption() throws {
        let s = try TCPSocket(family: AF_INET)
        do {
            try s.apply(SocketOptions(keepIdle: 0))
            Issue.record("TCP_KEEPIDLE 0 was accepted")
        } catch let e as SyscallError {
            #expect(e.operation == "setsockopt(TCP_KEEPIDLE)")
            #expect(e.errnoName == "EINVAL")
        }
    }

    @Test func connectsOnLoopbackAndSamplesTCPInfo() throws {
        let listener = try TCPListener(address: SocketAddress(ip: IPAddress("127.0.0.1")!, port: 0))
        let s = try TCPSocket(family: AF_INET)
        let done = try s.startConnect(to: listener.address)
        if !done {
            var p = pollfd(fd: s.fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 1000)
        }
        #expect(s.pendingError() == 0)
        let info = try #require(s.tcpInfo())
        #expect(info.stateName == "ESTABLISHED")
        #expect(RouteLookup.interface(for: IPAddress("127.0.0.1")!) == "lo")
    }
}

/// The connection tracker of a live flow on decoded packets built by hand.
struct LiveFlowTrackerTests {
    let local = SocketAddress(ip: IPAddress("10.0.0.1")!, port: 40000)
    let remote = SocketAddress(ip: IPAddress("10.0.0.2")!, port: 443)

    func segment(out: Bool, flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: Int = 0, window: UInt16 = 65535) -> DecodedPacket {
        let ip = IPHeader(version: 4, source: out ? local.ip : remote.ip, destination: out ? remote.ip : local.ip,
                          protocolNumber: 6, ttl: 64, totalLength: 40 + len, payloadOffset: 34)
        let seg = TCPSegment(sourcePort: out ? local.port : remote.port, destinationPort: out ? remote.port : local.port,
                             sequence: seq, acknowledgment: ack, flags: flags, window: window, headerLength: 20,
                             payloadLength: len, payloadOffset: 54, capturedPayloadLength: len)
        return DecodedPacket(linkType: .ethernet, ip: ip, transport: .tcp(seg))
    }

    @Test func synRetransmissionsAndRST() {
        let t = LiveFlow(local: local, remote: remote)
        #expect(t.observe(segment(out: true, flags: .syn, seq: 100), at: 0)?.kind == .syn)
        #expect(t.observe(segment(out: true, flags: .syn, seq: 100), at: 1)?.kind == .synRetransmit)
        let rst = t.observe(segment(out: false, flags: [.rst, .ack], seq: 0, ack: 101), at: 1.001)
        #expect(rst?.kind == .rst)
        #expect(rst?.direction == .in)
        #expect(t.tracker.synCount == 2)
    }

    @Test func handshakeDataRetransmitAndKeepalive() {
        let t = LiveFlow(local: local, remote: remote)
        _ = t.observe(segment(out: true, flags: .syn, seq: 100), at: 0)
        let synAck = t.observe(segment(out: false, flags: [.syn, .ack], seq: 5000, ack: 101), at: 0.01)
        #expect(synAck?.kind == .synAck)
        #expect(synAck?.field("rtt_ms") == .double(10))
        #expect(t.observe(segment(out: true, flags: .ack, seq: 101, ack: 5001), at: 0.011)?.kind == .ack)
        #expect(t.observe(segment(out: true, flags: [.psh, .ack], seq: 101, ack: 5001, len: 10), at: 1)?.kind == .data)
        let re = t.observe(segment(out: true, flags: [.psh, .ack], seq: 101, ack: 5001, len: 10), at: 1.3)
        #expect(re?.kind == .retransmit)
        #expect(re?.field("interval_s") != nil)
        // The peer acknowledges everything, then the connection idles: a keepalive probe
        // carries seq = snd_nxt - 1.
        #expect(t.observe(segment(out: false, flags: .ack, seq: 5001, ack: 111), at: 1.31) == nil)
        #expect(t.observe(segment(out: true, flags: .ack, seq: 110, ack: 5001), at: 10)?.kind == .keepaliveProbe)
        #expect(t.observe(segment(out: false, flags: .ack, seq: 5001, ack: 111), at: 10.001)?.kind == .keepaliveAck)
        #expect(t.observe(segment(out: false, flags: .ack, seq: 5001, ack: 111, window: 0), at: 11)?.kind == .zeroWindow)
        #expect(t.observe(segment(out: false, flags: [.fin, .ack], seq: 5001, ack: 111), at: 12)?.kind == .fin)
    }

    @Test func icmpQuotingTheFlowIsMatched() {
        let t = LiveFlow(local: local, remote: remote)
        let quoted = QuotedFlow(source: local.ip, destination: remote.ip, protocolNumber: 6, sourcePort: local.port, destinationPort: remote.port, sequence: 100)
        let ip = IPHeader(version: 4, source: IPAddress("10.0.0.254")!, destination: local.ip, protocolNumber: 1, ttl: 64, totalLength: 56, payloadOffset: 34)
        let p = DecodedPacket(linkType: .ethernet, ip: ip, transport: .icmp(ICMPMessage(version: 4, type: ICMPType(rawValue: 3), code: 1, quoted: quoted)))
        let e = t.observe(p, at: 0.5)
        #expect(e?.kind == .icmpUnreachable)
        #expect(e?.field("errno") == .string("EHOSTUNREACH"))
        // Another flow's ICMP is ignored.
        var other = quoted; other.sourcePort = 1
        let p2 = DecodedPacket(linkType: .ethernet, ip: ip, transport: .icmp(ICMPMessage(version: 4, type: ICMPType(rawValue: 3), code: 1, quoted: other)))
        #expect(t.observe(p2, at: 0.6) == nil)
    }
}
