import Testing
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket

/// The one TCP connection tracker on segments built in the test: above all the cases the
/// live flow tracker and analyze's connection used to classify differently.
struct TCPConnectionTrackerTests {
    static let client = Endpoint(IPAddress("10.0.0.1")!, 40000)
    static let server = Endpoint(IPAddress("10.0.0.2")!, 443)

    /// Keeps what the tracker reports.
    final class Recorder: TCPTrackerSink {
        var events: [Event] = []
        var observations: [FlowObservation] = []
        var delivered = 0
        func wants(important: Bool) -> Bool { true }
        func record(_ e: Event) { events.append(e) }
        func observe(_ o: FlowObservation) { observations.append(o) }
        func deliver(_ s: TCPSegment, side: Int, at t: Double, bytes: UnsafeRawBufferPointer) { delivered += 1 }
        var kinds: [FlowObservation.Kind] { observations.map(\.kind) }
    }

    /// A connection and its recorder; client ISN 1000, server ISN 5000.
    struct Flow {
        let tracker: TCPConnectionTracker
        let sink = Recorder()

        init(options: TCPTrackerOptions = .capture, midConnection: Bool = false) {
            tracker = TCPConnectionTracker(client: TCPConnectionTrackerTests.client, server: TCPConnectionTrackerTests.server,
                                           midConnection: midConnection, at: 0, options: options)
        }

        /// Feeds one segment from `side` (0 client, 1 server); returns what it was observed as.
        @discardableResult
        func send(_ side: Int, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, len: Int = 0, window: UInt16 = 65535, at t: Double) -> [FlowObservation.Kind] {
            let s = TCPSegment(sourcePort: side == 0 ? client.port : server.port, destinationPort: side == 0 ? server.port : client.port,
                               sequence: seq, acknowledgment: ack, flags: flags, window: window, headerLength: 20,
                               payloadLength: len, payloadOffset: 54, capturedPayloadLength: len)
            let before = sink.observations.count
            tracker.observe(s, from: side, at: t, bytes: UnsafeRawBufferPointer(start: nil, count: 0), sink: sink)
            return sink.observations[before...].map(\.kind)
        }

        var client: Endpoint { tracker.client }
        var server: Endpoint { tracker.server }

        func establish() {
            send(0, .syn, seq: 1000, at: 0)
            send(1, [.syn, .ack], seq: 5000, ack: 1001, at: 0.01)
            send(0, .ack, seq: 1001, ack: 5001, at: 0.011)
        }
    }

    @Test func handshakeIsObservedWithTheThirdACK() {
        let f = Flow()
        f.establish()
        #expect(f.sink.kinds == [.syn, .synAck, .handshakeACK])
        #expect(f.tracker.handshakeACKAt == 0.011)
        #expect(f.tracker.synCount == 1)
        // Capture options: the third ACK is typed evidence, not a timeline line.
        #expect(!f.sink.events.contains { $0.kind == .ack })
    }

    @Test func probeWithOneByteOfAcknowledgedData() {
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 10, at: 1)
        f.send(1, .ack, seq: 5001, ack: 1011, at: 1.01)
        // A BSD-style probe: the last byte again, already acknowledged.
        #expect(f.send(0, .ack, seq: 1010, ack: 5001, len: 1, at: 8) == [.keepaliveProbe(1)])
        #expect(f.send(1, .ack, seq: 5001, ack: 1011, at: 8.001) == [.keepaliveACK])
        #expect(f.tracker.sides[0].retransmissions == 0)
    }

    @Test func oneUnacknowledgedByteAtSndNxtMinusOneIsARetransmissionNotAProbe() {
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 10, at: 1)
        // Nothing acknowledged yet: the last byte sent again (a tail-loss probe) is data
        // retransmitted (the live tracker used to call it a keepalive probe).
        #expect(f.send(0, [.psh, .ack], seq: 1010, ack: 5001, len: 1, at: 1.2) == [.retransmit(1)])
        #expect(f.tracker.sides[0].probesTotal == 0)
        #expect(f.tracker.clientHasUnacknowledgedData)
    }

    @Test func retransmissionEpisodeCountsSendsOfTheSameHead() {
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 64, at: 1)
        #expect(f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 64, at: 1.2) == [.retransmit(1)])
        #expect(f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 64, at: 1.6) == [.retransmit(2)])
        let e = f.sink.events.last { $0.kind == .retransmit }
        #expect(e?.field("interval_s") == .double(0.4))
        // The ACK ends the episode; the same bytes acknowledged are no longer outstanding.
        f.send(1, .ack, seq: 5001, ack: 1065, at: 1.7)
        #expect(!f.tracker.clientHasUnacknowledgedData)
        #expect(f.tracker.sides[0].longestEpisode == 2)
    }

    @Test func midConnectionProbeRun() {
        // The capture begins after the handshake: snd_nxt is unknown, but the same pure ACK
        // again and again with no answer is a keepalive probe run, the first one included.
        let f = Flow(midConnection: true)
        f.send(1, .ack, seq: 5000, ack: 1001, at: 0)
        #expect(f.send(0, .ack, seq: 1000, ack: 5000, at: 10) == [])
        #expect(f.send(0, .ack, seq: 1000, ack: 5000, at: 11) == [.keepaliveProbe(1), .keepaliveProbe(2)])
        #expect(f.sink.observations.filter { $0.isKeepaliveProbe }.map(\.t) == [10, 11])
        #expect(f.send(1, .ack, seq: 5000, ack: 1001, at: 11.001) == [.keepaliveACK])
        #expect(f.tracker.sides[0].probesAnswered == 2)
    }

    @Test func probeIntoAZeroWindowIsAZeroWindowProbe() {
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 100, at: 1)
        #expect(f.send(1, .ack, seq: 5001, ack: 1101, window: 0, at: 1.01) == [.zeroWindow])
        // seq = snd_nxt - 1 while the server's window is closed: the persist timer, not keepalive.
        #expect(f.send(0, .ack, seq: 1100, ack: 5001, at: 1.3) == [.zeroWindowProbe(1)])
        #expect(f.send(0, .ack, seq: 1100, ack: 5001, at: 1.9) == [.zeroWindowProbe(2)])
        #expect(f.tracker.sides[0].probesTotal == 0)
        #expect(f.send(1, .ack, seq: 5001, ack: 1101, window: 512, at: 2) == [.windowUpdate])
    }

    @Test func threeDuplicateACKs() {
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 100, at: 1)
        f.send(0, [.psh, .ack], seq: 1101, ack: 5001, len: 100, at: 1)
        f.send(1, .ack, seq: 5001, ack: 1101, at: 1.01)
        f.send(1, .ack, seq: 5001, ack: 1101, at: 1.02)
        f.send(1, .ack, seq: 5001, ack: 1101, at: 1.03)
        #expect(f.send(1, .ack, seq: 5001, ack: 1101, at: 1.04) == [.dupACK(3)])
    }

    @Test func captureGapProvedByAnACK() {
        let f = Flow()
        f.establish()
        f.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 100, at: 1)
        f.send(0, [.psh, .ack], seq: 1201, ack: 5001, len: 100, at: 1)   // 1101..1201 not captured
        #expect(f.send(1, .ack, seq: 5001, ack: 1301, at: 1.01) == [.captureGap(100)])
        #expect(f.tracker.sides[0].missedBytes == 100)
    }

    @Test func synAckRetransmissionAndRefusal() {
        let f = Flow()
        f.send(0, .syn, seq: 1000, at: 0)
        f.send(1, [.syn, .ack], seq: 5000, ack: 1001, at: 0.01)
        #expect(f.send(1, [.syn, .ack], seq: 5000, ack: 1001, at: 1.01) == [.synAckRetransmit(1)])

        let refused = Flow()
        refused.send(0, .syn, seq: 1000, at: 0)
        #expect(refused.send(1, [.rst, .ack], seq: 0, ack: 1001, at: 0.001) == [.rst])
        #expect(refused.sink.events.last?.detail == "RST from the server in answer to the SYN (nothing listens on port 443)")
        #expect(refused.tracker.closedAt == 0.001)
    }

    @Test func everySegmentOptionObservesDataBothWays() {
        let live = Flow(options: .liveFlow)
        live.establish()
        #expect(live.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 10, at: 1) == [.data])
        #expect(live.send(1, [.psh, .ack], seq: 5001, ack: 1011, len: 20, at: 1.1) == [.data])
        #expect(live.sink.observations.last?.length == 20)
        #expect(live.sink.events.contains { $0.kind == .ack && $0.detail == "ACK (handshake complete)" })
        let data = live.sink.events.last { $0.kind == .data }
        #expect(data?.field("window") == .int(65535) && data?.field("ack") == .int(1011))
        #expect(live.sink.delivered == 2)

        let capture = Flow()
        capture.establish()
        #expect(capture.send(0, [.psh, .ack], seq: 1001, ack: 5001, len: 10, at: 1) == [])
        #expect(capture.sink.events.count == 2)   // SYN and SYN-ACK only
        #expect(capture.sink.delivered == 1)
    }

    @Test func icmpErrorQuotingTheFlow() {
        let f = Flow(options: .liveFlow)
        f.send(0, .syn, seq: 1000, at: 0)
        let quoted = QuotedFlow(source: Self.client.address, destination: Self.server.address, protocolNumber: 6,
                                sourcePort: Self.client.port, destinationPort: Self.server.port, sequence: 1000)
        #expect(f.tracker.quotesClientPacket(quoted))
        var shortQuote = quoted; shortQuote.sourcePort = nil; shortQuote.destinationPort = nil
        #expect(f.tracker.quotesClientPacket(shortQuote))
        var other = quoted; other.sourcePort = 1
        #expect(!f.tracker.quotesClientPacket(other))

        let router = IPAddress("10.0.0.254")!
        let ip = IPHeader(version: 4, source: router, destination: Self.client.address, protocolNumber: 1, ttl: 64, totalLength: 56, payloadOffset: 34)
        let icmp = ICMPMessage(version: 4, type: .destinationUnreachable, code: 1, quoted: quoted)
        f.tracker.observe(DecodedPacket(linkType: .ethernet, ip: ip, transport: .icmp(icmp)), at: 0.5, sink: f.sink)
        let o = f.sink.observations.last
        #expect(o?.icmp?.errnoName == "EHOSTUNREACH")
        #expect(o?.icmp?.from == "10.0.0.254")
        #expect(o?.direction == .in)
        #expect(f.tracker.icmpErrors.count == 1)
        #expect(f.sink.events.last?.field("icmp_version") == .int(4))
        // Another flow's error is not this connection's.
        let p2 = DecodedPacket(linkType: .ethernet, ip: ip, transport: .icmp(ICMPMessage(version: 4, type: .destinationUnreachable, code: 1, quoted: other)))
        f.tracker.observe(p2, at: 0.6, sink: f.sink)
        #expect(f.tracker.icmpErrors.count == 1)
    }
}

extension TCPConnectionTrackerTests {
    @Test func midConnectionZeroWindowProbesAnswered() {
        // The capture begins while the server's window is closed and the client's persist
        // timer runs; the server answers each probe (ack = snd_nxt, window 0). The server's
        // ACK of seq + 1 shows the client's pure ACK at seq is a probe of snd_nxt - 1.
        let f = Flow(midConnection: true)
        #expect(f.send(0, .ack, seq: 1000, ack: 5000, at: 0) == [])
        f.send(1, .ack, seq: 5000, ack: 1001, window: 0, at: 0.001)
        #expect(f.send(0, .ack, seq: 1000, ack: 5000, at: 0.4) == [.zeroWindowProbe(1)])
        f.send(1, .ack, seq: 5000, ack: 1001, window: 0, at: 0.401)
        #expect(f.send(0, .ack, seq: 1000, ack: 5000, at: 1.2) == [.zeroWindowProbe(2)])
    }
}
