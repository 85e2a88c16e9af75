import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
import ConnDiagTCP
import ConnDiagTLS

/// Offline analysis of capture files: every TCP connection in them followed both ways,
/// with the same outcome/mechanism contract as the live subcommands, HTTP/2 and gRPC
/// decoded inside, and findings ranked by severity. Never prints.
///
/// Streaming: packets are decoded in place from the reader's buffer (a classic pcap file's
/// own, `ClassicPcapReader`; libpcap's for pcapng, pipes and filters); a connection's state is a
/// few plain structs and a capped list of events, dropped once the connection is reported,
/// so memory grows with the connections open at once, not with the file.
///
/// Which side is the client: the sender of a SYN (or the receiver of a SYN-ACK). When the
/// capture begins mid-connection: the side whose port is in --port/--http2-port is the
/// server; otherwise the side with the lower port number (servers listen on low, fixed
/// ports; clients use the ephemeral range 32768-60999); the choice is in
/// `client_chosen_by`.
public final class AnalyzeEngine {
    public let options: AnalyzeOptions
    /// Called with each connection's report as soon as it is settled (NDJSON streaming).
    public var onConnection: ((ConnectionReport) -> Void)?
    /// Set by a live source (`watch`): a connection is reported the moment the wire closes it,
    /// attempts are streamed at once (no scan folding at the end), and no report is kept, so
    /// memory stays bounded by the open connections for as long as the source runs.
    public var live = false

    /// Open connections by key. Change it only through `setConnection(_:for:)` (or clear the
    /// last-hit cache below with it).
    private var connections: [ConnectionKey: Connection] = [:]
    /// The connection of the previous TCP packet: the next packet often belongs to it
    /// (segments of one response, its ACK), and then the lookup costs one key comparison.
    private var lastKey: ConnectionKey?
    private var lastConnection: Connection?
    private var tombstones: [ConnectionKey: Double] = [:]
    /// Reports of connection attempts not streamed yet (`ScanAggregator` folds them at the end).
    private var heldAttempts: Set<Int> = []
    private var reports: [ConnectionReport] = []
    private var nextIndex = 1
    private var startNanos: Int64?
    private var lastT = 0.0
    private var lastSweep = 0.0
    private var packets = 0
    private var tcpPackets = 0
    private var undecodable = 0
    private var truncatedPackets = 0
    private var nonTCP = 0
    private var strayAfterClose = 0
    private var evictions = 0
    var problems: [String] = []
    /// Secrets from --keylog files and the captures' Decryption Secrets Blocks.
    let keyLog = TLSKeyLog()
    var secretsBlocks = 0
    /// Packets not decoded and packets without TCP, by reason.
    private var inputCounts = InputCounts()
    private var backwardSteps = 0
    private var largestBackwardStep = 0.0
    private var damaged = false
    private var firstProblem: String?
    private let holdBudget = HoldBudget()
    /// Which file and interface saw the packet at hand (a bit of `CapturePoints`).
    private var capturePoint: UInt64 = 1
    private let capturePoints: CapturePoints
    /// The packet at hand, decoded in place (reused).
    private var decoded = DecodedPacket(linkType: .ethernet)
    private let runBudget: RunBudget
    private let portSet: Set<UInt16>
    private let serverPorts: Set<UInt16>
    private let h2Ports: Set<UInt16>
    private let hostSet: Set<IPAddress>

    public init(options: AnalyzeOptions) {
        self.options = options
        portSet = Set(options.ports)
        h2Ports = Set(options.http2Ports)
        serverPorts = Set(options.ports + options.http2Ports)
        hostSet = Set(options.hosts)
        runBudget = RunBudget(maxEventsPerConnection: options.maxEventsPerConnection)
        capturePoints = CapturePoints(files: options.files)
    }

    /// Reads every file; several files are merged by timestamp, as mergecap does, whatever
    /// order they are given in. Throws `ConnDiagError.badInput` (exit 4) when a file is not
    /// a capture at all, `.usage` for a bad filter. A file damaged part-way is reported in
    /// `inputProblems` and what came before the damage is analysed.
    public func run() throws -> AnalyzeResult {
        try readKeyLogFiles()
        if options.files.count <= 1 {
            for file in options.files {
                guard let capture = try open(file) else { break }
                defer { capture.close() }
                try read(capture, name: file)
            }
            return finish()
        }
        var captures: [PacketCapture] = []
        defer { for c in captures { c.close() } }
        for file in options.files {
            guard let capture = try open(file) else { return finish() }
            try applyFilter(capture)
            captures.append(capture)
        }
        merge(captures, names: options.files)
        return finish()
    }

    /// Opens one file; nil when interrupted while waiting for a pipe's header.
    private func open(_ file: String) throws -> PacketCapture? {
        if interrupted { return nil }
        do {
            let capture = try PacketCapture.openOffline(path: file)
            capture.onDecryptionSecrets = { [unowned self] type, bytes in secretsBlock(type: type, bytes, file: file) }
            return capture
        } catch let e as ConnDiagError {
            // Interrupted while waiting for a pipe's file header: nothing to analyse, not damage.
            if shouldStop() { interrupted = true; return nil }
            throw ConnDiagError.badInput(AnalyzeEngine.describeOpenFailure(file: file, message: e.message))
        }
    }

    private func applyFilter(_ capture: PacketCapture) throws {
        if let f = options.filter, !f.isEmpty {
            do { try capture.setFilter(f) } catch { throw ConnDiagError.usage("--filter: \(error)") }
        }
    }

    /// Reads several captures as one, always taking the earliest packet among the files'
    /// next ones (a file's own order is kept: ties and a file going backwards do not
    /// reorder it). Notes files given out of time order and files that overlap in time.
    private func merge(_ captures: [PacketCapture], names: [String]) {
        let n = captures.count
        var heads = [CapturedPacket?](repeating: nil, count: n)
        var counts = [Int](repeating: 0, count: n)
        var first = [Int64?](repeating: nil, count: n)
        var last = [Int64](repeating: 0, count: n)
        func advance(_ i: Int) {
            switch captures[i].next() {
            case .packet(let p):
                heads[i] = p
                if first[i] == nil { first[i] = p.timestampNanos }
                last[i] = max(last[i], p.timestampNanos)
            case .endOfFile:
                heads[i] = nil
            case .error(let message):
                heads[i] = nil
                inputDamage(file: names[i], message: message, after: counts[i])
            }
        }
        for i in 0..<n { advance(i) }
        var sinceCheck = 0
        while true {
            var pick = -1
            for i in 0..<n {
                guard let h = heads[i] else { continue }
                if pick < 0 || h.timestampNanos < heads[pick]!.timestampNanos { pick = i }
            }
            guard pick >= 0 else { break }
            sinceCheck += 1
            if sinceCheck >= 8192 {
                sinceCheck = 0
                if shouldStop() { interrupted = true; break }
            }
            let packet = heads[pick]!
            counts[pick] += 1
            handle(packet, link: captures[pick].linkType, file: pick)
            advance(pick)
        }
        for i in 0..<n where counts[i] == 0 && !problems.contains(where: { $0.hasPrefix(names[i] + ":") }) {
            problems.append("\(names[i]): no packets")
        }
        // Notes on the order: the files as given vs. by first packet, and overlaps.
        let spans = (0..<n).compactMap { i in first[i].map { (i, $0, last[i]) } }
        let byTime = spans.sorted { $0.1 < $1.1 }
        if byTime.map({ $0.0 }) != spans.map({ $0.0 }) {
            problems.append("the files were given out of time order; they are merged by timestamp: " + byTime.map { names[$0.0] }.joined(separator: ", "))
        }
        for k in 1..<max(byTime.count, 1) where byTime[k].1 < byTime[k - 1].2 {
            let overlap = Double(min(byTime[k - 1].2, byTime[k].2) - byTime[k].1) / 1e9
            problems.append("\(names[byTime[k - 1].0]) and \(names[byTime[k].0]) overlap in time (\(DurationText.elapsed(overlap))); their packets are interleaved by timestamp")
        }
    }

    private func inputDamage(file: String, message: String, after count: Int) {
        let truncated = message.contains("truncated")
        problems.append("\(file): \(truncated ? "the file ends inside a record" : "bad record") after \(count) packets (\(message)); the rest of the file cannot be read, what came before is analysed")
        if !truncated { damaged = true }
    }

    /// Reads one opened capture to its end (or to the damage that stops it), with the
    /// `--filter` applied. `run()` calls it for every file; with `PacketCapture.openOffline(bytes:)`
    /// it analyses a capture held in memory. Call `finish()` after the last one.
    public func read(_ capture: PacketCapture, name file: String) throws {
        try applyFilter(capture)
        let link = capture.linkType
        let before = packets
        // A pipe (`tcpdump -w - | conndiag analyze -`) delivers packets as they happen: read
        // them one at a time so an interrupt is noticed between any two.
        let batch = file == "-" ? 1 : 8192
        readLoop: while true {
            if shouldStop() { interrupted = true; break readLoop }
            let status = capture.read(limit: batch) { packet in self.handle(packet, link: link) }
            switch status {
            case .more, .drained: continue
            case .endOfFile: break readLoop
            case .error where shouldStop():
                // The read was cut by the interrupt (EINTR), not by damage.
                interrupted = true
                break readLoop
            case .error(let message):
                inputDamage(file: file, message: message, after: packets - before)
                break readLoop
            }
        }
        if packets == before && problems.isEmpty { problems.append("\(file): no packets") }
    }

    /// Analyses one packet that did not come from libpcap (tools and fuzzing): the same path
    /// every captured packet takes. `originalLength` is the length on the wire (0: captured).
    public func feed(_ bytes: UnsafeRawBufferPointer, linkType: LinkType, timestampNanos: Int64, originalLength: Int = 0) {
        handle(CapturedPacket(timestampNanos: timestampNanos, bytes: bytes, originalLength: max(originalLength, bytes.count)),
               link: linkType)
    }

    /// Settles every connection still open and returns the result. Call once, after the input.
    public func finish() -> AnalyzeResult {
        for c in connections.values.sorted(by: { $0.index < $1.index }) { settle(c) }
        connections.removeAll()
        lastKey = nil
        lastConnection = nil
        if undecodable > 0 { problems.append("\(undecodable) packets could not be decoded (first: \(firstProblem ?? "?"))") }
        if backwardSteps > 0 {
            problems.append("timestamps go backwards \(backwardSteps) times (by up to \(DurationText.elapsed(largestBackwardStep))); each packet keeps its own time stamp (one before the first packet is taken as t=0)")
        }
        if truncatedPackets > 0 { problems.append("\(truncatedPackets) TCP segments were cut by the snapshot length; their payload is not decoded") }
        if evictions > 0 { problems.append("\(evictions) connections were evicted before they ended (--max-connections \(options.maxConnections)); later packets of theirs count as new connections") }
        reports.sort { $0.index < $1.index }
        ScanAggregator.fold(&reports)
        // Attempts were held back from streaming until the fold could judge them.
        for r in reports where heldAttempts.contains(r.index) { onConnection?(r) }
        heldAttempts.removeAll()
        return AnalyzeResult(files: options.files, connections: reports, packets: packets, tcpPackets: tcpPackets,
                             captureStartNanos: startNanos, captureEnd: lastT, inputProblems: problems, damaged: damaged,
                             stallThreshold: options.stallThreshold, interrupted: interrupted,
                             notDecoded: inputCounts.notDecoded, notTCP: inputCounts.notTCP)
    }

    /// Asked between reads; true stops the analysis (SIGINT/SIGTERM). What was read is reported.
    public var shouldStop: () -> Bool = { false }
    /// True when `shouldStop` ended the input early.
    public private(set) var interrupted = false

    static func describeOpenFailure(file: String, message: String) -> String {
        var m = message
        if m.hasPrefix(file + ": ") { m.removeFirst(file.count + 2) }
        if m.contains("tried to read 4 file header bytes, only got 0") { return "\(file): empty file, not a capture" }
        if m.contains("file header bytes") || m.contains("truncated") { return "\(file): not a capture: the file ends inside the capture file header (\(m))" }
        if m.contains("unknown file format") { return "\(file): not a pcap or pcapng capture (unknown file format)" }
        return "\(file): \(m)"
    }

    // MARK: - Packets

    private func handle(_ packet: CapturedPacket, link fileLink: LinkType, file: Int = 0) {
        packets += 1
        if startNanos == nil { startNanos = packet.timestampNanos }
        var t = Double(packet.timestampNanos &- startNanos!) / 1e9
        if t >= lastT {
            lastT = t
        } else {
            // A clock stepped back, or packets were written out of order (several capture
            // queues): each packet keeps its own time, as tshark shows it — moving it would
            // misdate the events it carries — and only a time before the capture's first
            // packet is taken as 0, so no time is negative.
            backwardSteps += 1
            largestBackwardStep = max(largestBackwardStep, lastT - t)
            if t < 0 { t = 0 }
        }
        let link = packet.linkType ?? fileLink
        PacketDecoder.decode(packet.bytes, linkType: link, wireLength: packet.originalLength, into: &decoded)
        guard let ip = decoded.ip else {
            if let problem = decoded.problem {
                undecodable += 1
                inputCounts.countNotDecoded(problem, link: link)
                if firstProblem == nil { firstProblem = "packet \(packets) at t=\(DurationText.trimmed(t)) s: \(InputCounts.reason(problem, link: link))" }
            } else {
                nonTCP += 1
                inputCounts.countNotIP(decoded.etherType)
            }
            return
        }
        switch decoded.transport {
        case .tcp(let seg):
            tcpPackets += 1
            capturePoint = capturePoints.slot(file: file, interface: packet.interface)
            handleTCP(seg, ip: ip, at: t, bytes: packet.bytes, truncated: decoded.problem != nil)
        case .icmp(let m):
            if let q = m.quoted, q.protocolNumber == 6, let sp = q.sourcePort, let dp = q.destinationPort {
                let key = ConnectionKey(Endpoint(q.source, sp), Endpoint(q.destination, dp))
                connections[key]?.observeICMP(m, from: ip.source, at: t)
            }
            inputCounts.countProtocol(ip.protocolNumber)
        default:
            if let problem = decoded.problem {
                undecodable += 1
                inputCounts.countNotDecoded(problem, link: link)
                if firstProblem == nil { firstProblem = "packet \(packets) at t=\(DurationText.trimmed(t)) s: \(InputCounts.reason(problem, link: link))" }
            } else {
                nonTCP += 1
                inputCounts.countProtocol(ip.protocolNumber)
            }
        }
        if t - lastSweep >= 1 { sweep(at: t) }
    }

    private func selected(_ a: Endpoint, _ b: Endpoint) -> Bool {
        if !portSet.isEmpty && !portSet.contains(a.port) && !portSet.contains(b.port) { return false }
        if !hostSet.isEmpty && !hostSet.contains(a.address) && !hostSet.contains(b.address) { return false }
        return true
    }

    private func handleTCP(_ seg: TCPSegment, ip: IPHeader, at t: Double, bytes: UnsafeRawBufferPointer, truncated: Bool) {
        let src = Endpoint(ip.source, seg.sourcePort), dst = Endpoint(ip.destination, seg.destinationPort)
        guard selected(src, dst) else { return }
        if seg.capturedPayloadLength < seg.payloadLength { truncatedPackets += 1 }
        let key = ConnectionKey(src, dst)
        let pureSYN = seg.flags.contains(.syn) && !seg.flags.contains(.ack)
        var conn: Connection?
        if let c = lastConnection, lastKey == key {
            conn = c
        } else {
            conn = connections[key]
            lastKey = key
            lastConnection = conn
        }
        if let c = conn, pureSYN, c.sides[0].endpoint == src, c.closedAt != nil || (c.sides[0].isn != nil && c.sides[0].isn != seg.sequence && c.sides[1].synAckAt != nil) {
            // A new connection on the same 4-tuple.
            setConnection(nil, for: key)
            settle(c)
            conn = nil
        }
        if conn == nil {
            if !pureSYN, let closed = tombstones[key], t - closed < 120 { strayAfterClose += 1; return }
            tombstones[key] = nil
            conn = open(key: key, src: src, dst: dst, seg: seg, at: t)
        }
        let c = conn!
        let side = c.clientEndpoint == src ? 0 : 1
        c.capturedAt[side] |= capturePoint
        c.observe(seg, from: side, at: t, bytes: bytes)
        if live, let closed = c.closedAt {
            // Live: the outcome is known the moment the wire closes it (RST, second FIN).
            setConnection(nil, for: key)
            tombstones[key] = closed
            settle(c)
        }
    }

    private func open(key: ConnectionKey, src: Endpoint, dst: Endpoint, seg: TCPSegment, at t: Double) -> Connection {
        let client: Endpoint, server: Endpoint, how: String
        if seg.flags.contains(.syn) && !seg.flags.contains(.ack) { client = src; server = dst; how = "syn" }
        else if seg.flags.contains(.syn) { client = dst; server = src; how = "syn-ack" }
        else if serverPorts.contains(dst.port) && !serverPorts.contains(src.port) { client = src; server = dst; how = "port" }
        else if serverPorts.contains(src.port) && !serverPorts.contains(dst.port) { client = dst; server = src; how = "port" }
        else if src.port < dst.port { client = dst; server = src; how = "lower-port" }
        else { client = src; server = dst; how = "lower-port" }
        let mid = !seg.flags.contains(.syn)
        let c = Connection(index: nextIndex, key: key, client: client, server: server, clientChosenBy: how,
                           midConnection: mid, at: t, eventCap: options.maxEventsPerConnection, h2Candidate: true)
        c.forcedHTTP2 = h2Ports.contains(server.port)
        c.stallThreshold = options.stallThreshold
        c.holdBudget = holdBudget
        c.capturePoints = capturePoints
        if !keyLog.isEmpty { c.keyLog = keyLog }
        c.runBudget = runBudget
        if mid && c.wants(important: true) {
            c.record(Event(t: t, source: .app, kind: "capture-start",
                           detail: "the capture begins mid-connection (no SYN); client \(client), server \(server) chosen by \(how == "port" ? "--port/--http2-port" : "the lower port number")"))
        }
        nextIndex += 1
        setConnection(c, for: key)
        if connections.count > options.maxConnections { evict(at: t) }
        return c
    }

    /// Evicts the longest-idle connections (a sixteenth of the cap at once, at least one).
    private func evict(at t: Double) {
        let n = max(1, options.maxConnections / 16)
        let victims = connections.values.sorted { $0.lastAt < $1.lastAt }.prefix(n)
        for c in victims {
            setConnection(nil, for: c.key)
            c.evicted = true
            c.notes.append("evicted at t=\(DurationText.trimmed(t)) s after \(DurationText.elapsed(t - c.lastAt)) idle: more than --max-connections \(options.maxConnections) connections were open; its report ends there")
            evictions += 1
            settle(c)
        }
    }

    /// Reports connections that ended a while ago, so NDJSON streams them as they close.
    private func sweep(at t: Double) {
        lastSweep = t
        var done: [Connection] = []
        // Finished (RST, or both FINs acknowledged) and quiet since: a FIN nobody acknowledged
        // keeps its connection open, so its retransmissions minutes later still belong to it —
        // but not for ever: both FINs seen and ten minutes of silence (longer than any stack's
        // FIN retransmissions; Linux's orphan retries end within ~2 min) settle it too, so a
        // long capture whose last ACKs were lost does not hold every connection to the end.
        for c in connections.values {
            let finished = c.tracker.finishedAt.map { t - $0 > 5 && t - c.lastAt > 5 } == true
            let abandoned = c.closedAt != nil && t - c.lastAt > 600
            if finished || abandoned { done.append(c) }
        }
        for c in done.sorted(by: { $0.index < $1.index }) {
            setConnection(nil, for: c.key)
            tombstones[c.key] = c.tracker.finishedAt ?? c.lastAt
            settle(c)
        }
        if tombstones.count > 4 * options.maxConnections { tombstones = tombstones.filter { t - $0.value < 120 } }
    }

    private func setConnection(_ c: Connection?, for key: ConnectionKey) {
        connections[key] = c
        lastKey = nil
        lastConnection = nil
    }

    /// `captureEnd`: how far the input is known to reach (a live source: now), else the last packet.
    private func settle(_ c: Connection, captureEnd: Double? = nil) {
        guard !c.finalized else { return }
        c.finalized = true
        c.streams[0].release(holdBudget)
        c.streams[1].release(holdBudget)
        let r = c.report(captureEnd: captureEnd ?? lastT, retries2: options.assumedRetries2)
        if live { onConnection?(r); return }
        reports.append(r)
        if ScanAggregator.isAttempt(r) { heldAttempts.insert(r.index); return }
        onConnection?(r)
    }
}

// MARK: - Live input (watch)

/// One open connection as a live source sees it between packets: enough to judge a failure
/// under way (the tracker's side records) and to settle it once its outcome is decided.
public struct OpenConnection {
    public let index: Int
    public let client: Endpoint
    public let server: Endpoint
    public let tracker: TCPConnectionTracker
    /// "tcp", "http2", "grpc" or "tls", as the connection's report will say.
    public let protocolName: String
    /// HTTP/2 streams open now (0 without HTTP/2).
    public let openHTTP2Streams: Int
    fileprivate let connection: Connection
}

extension AnalyzeEngine {
    /// CLOCK_REALTIME nanoseconds of the first packet (t = 0 of every report), nil before it.
    public var originNanos: Int64? { startNanos }

    /// Seconds on the reports' axis for a wall-clock time, nil before the first packet.
    public func time(ofRealtimeNanos nanos: Int64) -> Double? {
        startNanos.map { Double(nanos &- $0) / 1e9 }
    }

    /// Calls `body` with every open connection (a live source judges failures under way).
    public func forEachOpenConnection(_ body: (OpenConnection) -> Void) {
        for c in connections.values where !c.finalized {
            let name = c.tls != nil ? "tls" : c.h2?.sawHTTP2 != true ? "tcp" : (c.h2!.isGRPC ? "grpc" : "http2")
            body(OpenConnection(index: c.index, client: c.client, server: c.server, tracker: c.tracker, protocolName: name,
                                openHTTP2Streams: c.h2?.streams.count ?? 0, connection: c))
        }
    }

    /// Reports an open connection now, its input known up to `now` (seconds on the reports'
    /// axis): a live source calls it once the outcome is decided though the wire says nothing
    /// more (a connect given up, retransmissions stopped).
    public func settleNow(_ open: OpenConnection, at now: Double) {
        let c = open.connection
        guard !c.finalized else { return }
        setConnection(nil, for: c.key)
        tombstones[c.key] = now
        settle(c, captureEnd: max(now, lastT))
    }

    /// Live: reports the connections that ended a while ago as `sweep` does between packets,
    /// at `now` (seconds on the reports' axis) even when no packet arrives.
    public func tick(at now: Double) {
        guard startNanos != nil, now - lastSweep >= 1 else { return }
        sweep(at: now)
    }

    /// Open connections now.
    public var openConnectionCount: Int { connections.count }
}
