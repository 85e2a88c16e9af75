import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
import ConnDiagTLS

/// One TCP connection in a capture: its `TCPConnectionTracker` (which says what each packet
/// means, both ways), the HTTP/2 reassembly fed by the tracker's payload, the event budget
/// and the notes. Side 0 is the client, side 1 the server (see `AnalyzeEngine.chooseClient`).
/// Per packet the tracker updates plain counters in place and builds an event only for what
/// matters (handshake, retransmissions, probes, windows, closes, gaps), so a bulk transfer
/// costs no allocation per packet.
final class Connection {
    let index: Int
    let key: ConnectionKey
    let tracker: TCPConnectionTracker
    /// How the client side was chosen: "syn", "syn-ack", "port", "lower-port", "preface".
    var clientChosenBy: String

    var events: [Event] = []
    var omittedEvents = 0
    let eventCap: Int
    var notes: [String] = []

    var evicted = false
    var finalized = false

    var h2: H2Session?
    /// The HTTP/1.1 beginning followed into an h2c upgrade or a CONNECT tunnel, if any.
    var http1: HTTP1Upgrade?
    /// The TLS layer, once a direction's bytes are recognised as TLS records (any port).
    var tls: TLSObserver?
    /// The run's key log (files and pcapng secrets blocks), when it holds any secrets.
    var keyLog: TLSKeyLog?
    /// Segments per direction still to look at for TLS (see `sniffTLS`).
    var tlsSniffBudget = Pair(6, 6)
    /// Per-direction byte-stream reassembly for the HTTP/2 decoder.
    let streams = Pair(ByteStream(), ByteStream())
    /// Payload segments inspected for HTTP/2 frame shapes (mid-connection detection).
    var h2SniffBudget = 24
    var h2Candidate: Bool
    /// `--http2-port` names this connection's server port.
    var forcedHTTP2 = false
    var stallThreshold = 5.0
    var holdBudget = HoldBudget()
    /// The capture points (file, interface) that saw each side's packets, as bits of
    /// `capturePoints`: two points each seeing one direction is asymmetric routing.
    var capturedAt: [UInt64] = [0, 0]
    var capturePoints: CapturePoints?
    var runBudget = RunBudget(maxEventsPerConnection: 300)

    init(index: Int, key: ConnectionKey, client: Endpoint, server: Endpoint, clientChosenBy: String,
         midConnection: Bool, at t: Double, eventCap: Int, h2Candidate: Bool) {
        self.index = index; self.key = key
        tracker = TCPConnectionTracker(client: client, server: server, midConnection: midConnection, at: t, options: .capture)
        clientEndpoint = client
        self.clientChosenBy = clientChosenBy
        self.eventCap = eventCap
        self.h2Candidate = h2Candidate
    }

    /// The client's endpoint (side 0), kept beside its record for the per-packet lookup.
    let clientEndpoint: Endpoint
    var client: Endpoint { clientEndpoint }
    var server: Endpoint { tracker.server }
    static func name(_ side: Int) -> String { TCPConnectionTracker.name(side) }

    // The tracker's state, read by the verdicts and the engine.
    var sides: Pair<TCPSide> { tracker.sides }
    var midConnection: Bool { tracker.midConnection }
    var firstAt: Double { tracker.firstAt }
    var lastAt: Double { tracker.lastAt }
    var packets: Int { tracker.packets }
    /// When the connection ended on the wire (RST, or the second FIN), if it did.
    var closedAt: Double? { tracker.closedAt }
    var icmpErrors: [(t: Double, text: String, errno: String?)] { tracker.icmpErrors }

    // MARK: - Events

    /// True when an event of this weight would be kept (check before building one).
    @inline(__always)
    func wants(important: Bool) -> Bool {
        if events.count < eventCap && (important || runBudget.routineEventsLeft) { return true }
        if important && events.count < eventCap + eventCap / 2 { return true }
        omittedEvents += 1
        return false
    }

    /// False when no event at all would be kept any more (the important allowance is used
    /// up too), so nothing needs preparing for one.
    var mayKeep: Bool { events.count < eventCap + eventCap / 2 }

    /// True when a routine event would be kept now.
    var wouldKeepRoutine: Bool { events.count < eventCap && runBudget.routineEventsLeft }

    func record(_ e: Event) {
        events.append(e)
        runBudget.events += 1
    }

    func dir(_ side: Int) -> Direction { side == 0 ? .out : .in }

    // MARK: - Segments

    func observe(_ s: TCPSegment, from side: Int, at t: Double, bytes: UnsafeRawBufferPointer) {
        tracker.observe(s, from: side, at: t, bytes: bytes, sink: self)
    }

    func observeICMP(_ m: ICMPMessage, from router: IPAddress, at t: Double) {
        tracker.observeICMP(m, from: router, at: t, sink: self)
    }

    /// The last time the other side was heard before `side`'s current probes began.
    func lastHeardBeforeProbes(side: Int) -> Double { tracker.lastHeardBeforeProbes(side: side) }
}

extension Connection: TCPTrackerSink {
    // `wants(important:)`, `record(_:)` and `deliver(...)` (ByteStream.swift) as above; the
    // verdicts read the tracker's side records, not typed observations.

    func captureMissed(side: Int, from seq: UInt32, bytes n: Int, at t: Double) {
        // The other side acknowledged them: they will never appear, so HTTP/2 decoding skips them.
        skipNeverSeen(side: side, upTo: seq &+ UInt32(n), at: t, why: "the capture missed them; the \(Connection.name(1 - side)) acknowledged them")
    }
}
