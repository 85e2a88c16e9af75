import Testing
import Glibc
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
@testable import ConnDiagTCP

/// Which packets explain a socket's result, and when the tracker has seen them: the report
/// stops waiting for the capture exactly then.
struct WireExplanationTests {
    static let local = SocketAddress(ip: IPAddress("10.0.0.1")!, port: 40000)
    static let remote = SocketAddress(ip: IPAddress("10.0.0.2")!, port: 443)

    /// One flow's packets, built as the decoder would hand them to the tracker.
    struct Flow {
        let flow = LiveFlow(local: local, remote: remote)
        var tracker: TCPConnectionTracker { flow.tracker }
        var t = 0.0

        mutating func send(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: Int = 0) {
            feed(from: local, to: remote, flags, seq: seq, ack: ack, len: len)
        }

        mutating func receive(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: Int = 0) {
            feed(from: remote, to: local, flags, seq: seq, ack: ack, len: len)
        }

        mutating func receiveICMP(code: UInt8) {
            t += 0.001
            let quoted = QuotedFlow(source: local.ip, destination: remote.ip, protocolNumber: 6,
                                    sourcePort: local.port, destinationPort: remote.port)
            let ip = IPHeader(version: 4, source: remote.ip, destination: local.ip, protocolNumber: 1, ttl: 64, totalLength: 56, payloadOffset: 34)
            let icmp = ICMPMessage(version: 4, type: .destinationUnreachable, code: code, quoted: quoted)
            flow.observe(DecodedPacket(linkType: .ethernet, ip: ip, transport: .icmp(icmp)), at: t)
        }

        private mutating func feed(from: SocketAddress, to: SocketAddress, _ flags: TCPFlags, seq: UInt32, ack: UInt32, len: Int) {
            t += 0.001
            let ip = IPHeader(version: 4, source: from.ip, destination: to.ip, protocolNumber: 6, ttl: 64, totalLength: 40 + len, payloadOffset: 34)
            let segment = TCPSegment(sourcePort: from.port, destinationPort: to.port, sequence: seq, acknowledgment: ack, flags: flags,
                                     window: 65535, headerLength: 20, payloadLength: len, payloadOffset: 54, capturedPayloadLength: len)
            flow.observe(DecodedPacket(linkType: .ethernet, ip: ip, transport: .tcp(segment)), at: t)
        }

        /// SYN, SYN-ACK and our ACK: client ISN 1000, server ISN 5000.
        mutating func establish() {
            send(.syn, seq: 1000)
            receive([.syn, .ack], seq: 5000, ack: 1001)
            send(.ack, seq: 1001, ack: 5001)
        }
    }

    @Test func connectErrnosNameTheirPackets() {
        #expect(WireExplanation.connect(errno: 0) == .handshake)
        #expect(WireExplanation.connect(errno: ECONNREFUSED) == .refusal)
        #expect(WireExplanation.connect(errno: ETIMEDOUT) == .lastSYN)
        #expect(WireExplanation.connect(errno: EHOSTUNREACH) == .icmpError)
        #expect(WireExplanation.connect(errno: ENETUNREACH) == .icmpError)
        #expect(WireExplanation.connect(errno: EADDRNOTAVAIL) == .nothing)
    }

    @Test func connectionEndsNameTheirPackets() {
        #expect(WireExplanation.end(errno: nil, eof: true) == .peerFIN)
        #expect(WireExplanation.end(errno: ECONNRESET, eof: false) == .peerRST)
        #expect(WireExplanation.end(errno: EPIPE, eof: false) == .peerRST)
        #expect(WireExplanation.end(errno: ETIMEDOUT, eof: false) == .kernelAbort)
        #expect(WireExplanation.end(errno: EHOSTUNREACH, eof: false) == .icmpError)
        #expect(WireExplanation.end(errno: nil, eof: false) == .nothing)
    }

    @Test func refusalNeedsThePeersRST() {
        var f = Flow()
        f.send(.syn, seq: 1000)
        #expect(!WireExplanation.refusal.isComplete(in: f.tracker))
        f.send(.rst, seq: 1001)   // ours does not explain a refusal
        #expect(!WireExplanation.refusal.isComplete(in: f.tracker))
        f.receive([.rst, .ack], seq: 0, ack: 1001)
        #expect(WireExplanation.refusal.isComplete(in: f.tracker))
    }

    @Test func refusalByICMPPortUnreachable() {
        var f = Flow()
        f.send(.syn, seq: 1000)
        f.receiveICMP(code: 3)
        #expect(WireExplanation.refusal.isComplete(in: f.tracker))
    }

    @Test func handshakeNeedsOurACKToo() {
        var f = Flow()
        f.send(.syn, seq: 1000)
        f.receive([.syn, .ack], seq: 5000, ack: 1001)
        #expect(!WireExplanation.handshake.isComplete(in: f.tracker))
        f.send(.ack, seq: 1001, ack: 5001)
        #expect(WireExplanation.handshake.isComplete(in: f.tracker))
    }

    @Test func icmpErrorWaitsOnlyWhenASYNWentOut() {
        let nothingSent = Flow()
        #expect(WireExplanation.icmpError.isComplete(in: nothingSent.tracker))   // no route: refused locally
        var f = Flow()
        f.send(.syn, seq: 1000)
        #expect(!WireExplanation.icmpError.isComplete(in: f.tracker))
        f.receiveICMP(code: 1)
        #expect(WireExplanation.icmpError.isComplete(in: f.tracker))
    }

    @Test func synTimeoutIsExplainedByTheSYNsAlreadySeen() {
        var f = Flow()
        #expect(!WireExplanation.lastSYN.isComplete(in: f.tracker))
        f.send(.syn, seq: 1000)
        #expect(WireExplanation.lastSYN.isComplete(in: f.tracker))
    }

    @Test func peerClosesNeedTheirPackets() {
        var f = Flow()
        f.establish()
        #expect(!WireExplanation.peerFIN.isComplete(in: f.tracker))
        #expect(!WireExplanation.peerRST.isComplete(in: f.tracker))
        f.receive([.fin, .ack], seq: 5001, ack: 1001)
        #expect(WireExplanation.peerFIN.isComplete(in: f.tracker))
        f.receive(.rst, seq: 5002)
        #expect(WireExplanation.peerRST.isComplete(in: f.tracker))
    }

    @Test func keepaliveAbortNeedsOurRST() {
        var f = Flow()
        f.establish()
        f.send(.ack, seq: 1000, ack: 5001)   // keepalive probe: seq = snd_nxt - 1
        #expect(!WireExplanation.kernelAbort.isComplete(in: f.tracker))
        f.send(.rst, seq: 1001)
        #expect(WireExplanation.kernelAbort.isComplete(in: f.tracker))
    }

    @Test func timeoutWithUnacknowledgedDataSendsNoRST() {
        var f = Flow()
        f.establish()
        f.send([.psh, .ack], seq: 1001, ack: 5001, len: 64)
        #expect(!WireExplanation.kernelAbort.isComplete(in: f.tracker))
        f.send([.psh, .ack], seq: 1001, ack: 5001, len: 64)   // its retransmission
        #expect(WireExplanation.kernelAbort.isComplete(in: f.tracker))
    }

    @Test func retransmissionsOfAcknowledgedDataAreNoExplanation() {
        var f = Flow()
        f.establish()
        f.send([.psh, .ack], seq: 1001, ack: 5001, len: 64)
        f.send([.psh, .ack], seq: 1001, ack: 5001, len: 64)
        f.receive(.ack, seq: 5001, ack: 1065)
        #expect(!WireExplanation.kernelAbort.isComplete(in: f.tracker))   // idle again: a keepalive abort's RST is due
    }

    @Test func nothingIsAlwaysComplete() {
        #expect(WireExplanation.nothing.isComplete(in: Flow().tracker))
    }
}
