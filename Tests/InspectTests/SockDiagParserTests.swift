import Testing
@testable import ConnDiagInspect
import ConnDiagCore

/// One real SOCK_DIAG_BY_FAMILY answer recorded on this machine (kernel 6.18): an
/// ESTABLISHED loopback connection 127.0.0.1:44697 with INET_DIAG_INFO (tcp_info, 232 bytes),
/// INET_DIAG_CONG ("bbr") and the attributes every dump carries.
let recordedEstablished: [UInt8] = hexBytes([
        "a00100001400020001000000440d000002010000ae99c0067f0000010000000000000000000000007f000001000000000000000000000000000000004e000000",
        "000000000000000000000000000000000000000064481b00050008000000000008000f00000000000c001500010000000000000006001600520000001c010200",
        "010000000007aa01e01c0300000000000080000018020000000000000000000000000000000000000000000000000000000000000000000000000000ffff0000",
        "cbff00001200000009000000ffffff7f0a000000cbff00000300000000000000cbff000000000000e39bf71c0c000000ffffffffffffffff0000000000000000",
        "00000000000000000000000002000000000000001200000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "01000000000000000000000000000000000000000000000000000000000000000000000000000100cbff00000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000800040062627200",
])

/// NLMSG_DONE: length 20, type 3, flags NLM_F_MULTI, seq 1, pid 0, then the int 0.
let doneMessage: [UInt8] = [20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

func hexBytes(_ lines: [String]) -> [UInt8] {
    let text = Array(lines.joined().utf8)
    return stride(from: 0, to: text.count, by: 2).map { UInt8(String(decoding: text[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

/// A synthetic SOCK_DIAG_BY_FAMILY message, one field per line, with an optional tcp_info.
func diagMessage(family: UInt8 = 10, state: UInt8 = 1, timer: UInt8 = 2, retrans: UInt8 = 3, sport: UInt16 = 40112,
                 dport: UInt16 = 50051, expires: UInt32 = 12_400, inode: UInt32 = 777, info: [UInt8]? = nil) -> [UInt8] {
    var p: [UInt8] = []
    func u32(_ v: UInt32) { p += withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    p += [family, state, timer, retrans]                 // idiag_family, state, timer, retrans
    p += [UInt8(sport >> 8), UInt8(sport & 0xff)]        // id.idiag_sport (network order)
    p += [UInt8(dport >> 8), UInt8(dport & 0xff)]        // id.idiag_dport
    p += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]  // id.idiag_src 2001:db8::1
    p += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2]  // id.idiag_dst 2001:db8::2
    u32(0)                                               // id.idiag_if
    u32(0xdead); u32(0xbeef)                             // id.idiag_cookie
    u32(expires)                                         // idiag_expires (ms)
    u32(0); u32(64)                                      // idiag_rqueue, idiag_wqueue
    u32(1000)                                            // idiag_uid
    u32(inode)                                           // idiag_inode
    if let info {
        let len = UInt16(4 + info.count)
        p += [UInt8(len & 0xff), UInt8(len >> 8), 2, 0] + info  // rtattr INET_DIAG_INFO
        while p.count % 4 != 0 { p.append(0) }
    }
    let total = UInt32(16 + p.count)
    var h: [UInt8] = []
    h += withUnsafeBytes(of: total.littleEndian) { Array($0) }  // nlmsg_len
    h += [20, 0, 2, 0]                                          // SOCK_DIAG_BY_FAMILY, NLM_F_MULTI
    h += [1, 0, 0, 0, 0, 0, 0, 0]                               // seq, pid
    return h + p
}

/// A tcp_info of `length` bytes with probes, backoff, rto and the idle clocks set.
func tcpInfoBytes(length: Int = 232, probes: UInt8 = 1, backoff: UInt8 = 0, rtoMicros: UInt32 = 204_000,
                  unacked: UInt32 = 0, lastRecvMs: UInt32 = 1500) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: length)
    func put(_ o: Int, _ v: UInt32) { for i in 0..<4 where o + i < length { b[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }
    b[0] = 1; b[3] = probes; b[4] = backoff             // state, probes, backoff
    put(8, rtoMicros); put(24, unacked)                 // tcpi_rto, tcpi_unacked
    put(52, lastRecvMs); put(56, lastRecvMs)            // tcpi_last_data_recv, tcpi_last_ack_recv
    return b
}

@Suite struct SockDiagParserTests {
    @Test func recordedEstablishedSocket() throws {
        let messages = SockDiagParser.parse(recordedEstablished + doneMessage)
        #expect(messages.count == 2)
        guard case .socket(let s) = messages[0] else { Issue.record("no socket: \(messages)"); return }
        #expect(messages[1] == .done)
        #expect(s.family == 2)
        #expect(s.state == .established)
        #expect(s.local == "127.0.0.1:44697")
        #expect(s.remote.hasPrefix("127.0.0.1:"))
        #expect(s.inode != 0)
        let info = try #require(s.info)
        #expect(info.state == 1)
        #expect(info.rtoMicros >= 200_000)
        #expect(info.bytesAcked != nil && info.sendWindow != nil)
        #expect(s.congestion == "bbr")  // this machine's default
    }

    @Test func syntheticFieldsLandWhereTheKernelPutsThem() throws {
        let bytes = diagMessage(info: tcpInfoBytes(probes: 2, backoff: 0, rtoMicros: 3_200_000)) + doneMessage
        guard case .socket(let s) = SockDiagParser.parse(bytes).first else { Issue.record("no socket"); return }
        #expect(s.local == "[2001:db8::1]:40112")
        #expect(s.remote == "[2001:db8::2]:50051")
        #expect(s.timer == .keepalive && s.timerRetransmits == 3 && s.expiresMs == 12_400)
        #expect(s.sendQueue == 64 && s.uid == 1000 && s.inode == 777)
        #expect(s.cookie == 0xbeef << 32 | 0xdead)
        #expect(s.info?.probes == 2 && s.info?.rto == 3.2)
    }

    @Test func olderKernelsShorterTCPInfo() {
        // 104 bytes (up to tcpi_total_retrans): optional fields stay nil, nothing read past it.
        guard case .socket(let s) = SockDiagParser.parse(diagMessage(info: tcpInfoBytes(length: 104))).first else { Issue.record("no socket"); return }
        #expect(s.info != nil && s.info?.bytesAcked == nil && s.info?.sendWindow == nil)
        // Shorter than that: invalid, not a half-read struct.
        if case .invalid = SockDiagParser.parse(diagMessage(info: tcpInfoBytes(length: 100))).first {} else { Issue.record("short tcp_info accepted") }
    }

    @Test func everyTruncationIsInvalidNeverASocket() {
        let whole = recordedEstablished
        for cut in 0..<whole.count {
            let messages = SockDiagParser.parse(Array(whole[..<cut]))
            #expect(!messages.contains { if case .socket = $0 { return true }; return false }, "cut at \(cut)")
            if cut > 0 { #expect(messages.last.map { if case .invalid = $0 { return true }; return false } == true, "cut at \(cut)") }
        }
    }

    @Test func lyingLengthsAreRefused() {
        var huge = recordedEstablished
        huge[0] = 0xff; huge[1] = 0xff; huge[2] = 0xff; huge[3] = 0xff        // nlmsg_len 4 GiB
        if case .invalid = SockDiagParser.parse(huge).first {} else { Issue.record("huge nlmsg_len accepted") }
        var tiny = recordedEstablished
        tiny[0] = 8; tiny[1] = 0; tiny[2] = 0; tiny[3] = 0                     // nlmsg_len < header
        if case .invalid = SockDiagParser.parse(tiny).first {} else { Issue.record("tiny nlmsg_len accepted") }
        var overrun = diagMessage(info: tcpInfoBytes())
        overrun[16 + 72] = 0xff; overrun[16 + 73] = 0x7f                       // rtattr length past the message
        if case .invalid = SockDiagParser.parse(overrun).first {} else { Issue.record("overrunning attribute accepted") }
        var zero = diagMessage(info: tcpInfoBytes())
        zero[16 + 72] = 0; zero[16 + 73] = 0                                   // rtattr length 0 would loop
        if case .invalid = SockDiagParser.parse(zero).first {} else { Issue.record("zero attribute length accepted") }
    }

    @Test func errorAndFlippedBytesNeverCrash() {
        // NLMSG_ERROR -EPERM.
        let error: [UInt8] = [36, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff] + [UInt8](repeating: 0, count: 16)
        #expect(SockDiagParser.parse(error) == [.error(errno: 1)])
        // Found by FuzzSockDiag: error code Int32.min cannot be negated (it trapped).
        var minimum = error
        minimum[16] = 0; minimum[17] = 0; minimum[18] = 0; minimum[19] = 0x80
        if case .invalid = SockDiagParser.parse(minimum).first {} else { Issue.record("Int32.min error code accepted") }
        var positive = error
        positive[16] = 5; positive[17] = 0; positive[18] = 0; positive[19] = 0
        if case .invalid = SockDiagParser.parse(positive).first {} else { Issue.record("positive error code accepted") }
        // Every single-byte corruption of a real answer parses to something without trapping.
        let whole = recordedEstablished + doneMessage
        for i in 0..<whole.count {
            var b = whole
            b[i] ^= 0xa5
            _ = SockDiagParser.parse(b)
        }
    }

    @Test func requestBytes() {
        let r = SockDiagRequest.dumpTCP(family: 10, sequence: 7)
        #expect(r.count == 72)
        #expect(Array(r[0..<8]) == [72, 0, 0, 0, 20, 0, 0x01, 0x03])
        #expect(Array(r[16..<20]) == [10, 6, 0x0a, 0])
    }

    @Test func ipv6Text() {
        #expect(IPv6Text.format([UInt8](repeating: 0, count: 15) + [1]) == "::1")
        #expect(IPv6Text.format([UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 1]) == "::ffff:10.0.0.1")
        #expect(IPv6Text.format([0x20, 0x01, 0x0d, 0xb8, 0, 1] + [UInt8](repeating: 0, count: 9) + [1]) == "2001:db8:1::1")
    }
}
