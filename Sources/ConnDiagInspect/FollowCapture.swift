import Glibc
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
import ConnDiagTCP

/// `--capture` with `--follow`: one libpcap capture on "any" opened inside the inspected
/// namespace (a packet socket sees the namespace it was created in), filtered to the followed
/// connections' 4-tuples plus ICMP errors. Each connection has its own `TCPConnectionTracker`
/// (side 0 the inspected socket, side 1 its peer): the one classifier of retransmissions,
/// probes, zero windows, FIN/RST and ICMP, whose events go on the timeline beside the
/// sock_diag samples. libpcap drops loopback's outgoing copies, so each packet is seen once.
final class FollowCapture {
    let capture: PacketCapture
    let timeline: Timeline
    /// By (local, remote) of the inspected socket.
    private var tracks: [FlowKey: WireTrack] = [:]
    private var filterDirty = true
    /// Beyond this many flows the BPF program would pass the kernel's 4096-instruction
    /// limit: the filter becomes "tcp" and packets are matched here.
    static let exactFilterLimit = 64

    struct FlowKey: Hashable { var local: Endpoint; var remote: Endpoint }

    init(capture: PacketCapture, timeline: Timeline) {
        self.capture = capture; self.timeline = timeline
    }

    /// Opens the capture inside `namespace`; nil with the reason when capture is refused
    /// (no CAP_NET_RAW) or fails: the run goes on with sock_diag samples only.
    static func open(in namespace: InspectedNamespace, timeline: Timeline) -> (FollowCapture?, String?) {
        do {
            let c = try namespace.inside { try PacketCapture.openLive(interface: "any", filter: FollowCapture.filter([])) }
            return (FollowCapture(capture: c, timeline: timeline), nil)
        } catch {
            return (nil, "\(error); --capture is off, sock_diag samples only")
        }
    }

    /// Starts tracking a followed connection on the wire.
    func add(_ c: InspectedConnection, at t: Double) {
        guard let key = FollowCapture.key(c.socket) else { return }
        let tracker = TCPConnectionTracker(client: key.local, server: key.remote, midConnection: true, at: t,
                                           options: TCPTrackerOptions(everySegment: false, headerFields: false))
        tracks[key] = WireTrack(index: c.index, tracker: tracker, timeline: timeline)
        filterDirty = true
    }

    func remove(_ s: SockDiagSocket) {
        guard let key = FollowCapture.key(s), tracks.removeValue(forKey: key) != nil else { return }
        filterDirty = true
    }

    func track(_ s: SockDiagSocket) -> WireTrack? { FollowCapture.key(s).flatMap { tracks[$0] } }

    /// Recompiles the BPF filter when the set of flows changed.
    func updateFilter() {
        guard filterDirty else { return }
        filterDirty = false
        try? capture.setFilter(FollowCapture.filter(tracks.keys.map { ($0.local, $0.remote) }))
    }

    /// Reads every packet the capture holds and hands each to its connection's tracker.
    func pump() {
        updateFilter()
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            let status = capture.read { packet in
                let decoded = PacketDecoder.decode(packet.bytes, linkType: capture.linkType, wireLength: packet.originalLength)
                let t = timeline.clock.fromRealtime(nanos: packet.timestampNanos)
                for track in tracksFor(decoded) { track.tracker.observe(decoded, at: t, sink: track) }
            }
            guard case .more = status else { return }
        }
    }

    /// Waits up to `seconds` for packets and reads them (the FIN or RST of a process's exit).
    func drain(for seconds: Double) {
        var p = pollfd(fd: capture.selectableFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, Int32(seconds * 1000))
        pump()
    }

    /// The trackers a packet belongs to: as side 0 (from the inspected socket) or side 1 (to
    /// it); both when both ends are followed (a loopback pair); ICMP errors by the flow quoted.
    private func tracksFor(_ p: DecodedPacket) -> [WireTrack] {
        guard let ip = p.ip else { return [] }
        var out: [WireTrack] = []
        if let tcp = p.tcp {
            let a = Endpoint(ip.source, tcp.sourcePort), b = Endpoint(ip.destination, tcp.destinationPort)
            if let t = tracks[FlowKey(local: a, remote: b)] { out.append(t) }
            if let t = tracks[FlowKey(local: b, remote: a)] { out.append(t) }
        } else if let q = p.icmp?.quoted, let sp = q.sourcePort, let dp = q.destinationPort,
                  let t = tracks[FlowKey(local: Endpoint(q.source, sp), remote: Endpoint(q.destination, dp))] {
            out.append(t)
        }
        return out
    }

    /// The inspected socket's endpoints as they appear on the wire (an IPv4-mapped IPv6
    /// socket sends IPv4 packets).
    static func key(_ s: SockDiagSocket) -> FlowKey? {
        guard let l = wireAddress(s.localAddress), let r = wireAddress(s.remoteAddress) else { return nil }
        return FlowKey(local: Endpoint(l, s.localPort), remote: Endpoint(r, s.remotePort))
    }

    static func wireAddress(_ bytes: [UInt8]) -> IPAddress? {
        if bytes.count == 16 && bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return IPAddress(bytes: Array(bytes[12...]))
        }
        return IPAddress(bytes: bytes)
    }

    /// BPF for the flows plus the ICMP errors that may quote them; "tcp" beyond the limit.
    static func filter(_ flows: [(Endpoint, Endpoint)]) -> String {
        let icmp = "(icmp and (icmp[0] == 3 or icmp[0] == 4 or icmp[0] == 11 or icmp[0] == 12))"
            + " or (icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3 or ip6[40] == 4))"
        if flows.isEmpty { return icmp }
        if flows.count > exactFilterLimit { return "tcp or " + icmp }
        let terms = flows.map { l, r in
            "(host \(l.address) and port \(l.port) and host \(r.address) and port \(r.port))"
        }
        return "(tcp and (\(terms.joined(separator: " or ")))) or " + icmp
    }
}

/// One followed connection on the wire: its tracker, and the sink that puts the tracker's
/// events on the timeline under the connection's number and keeps what deaths are judged on.
final class WireTrack: TCPTrackerSink {
    let index: Int
    let tracker: TCPConnectionTracker
    let timeline: Timeline
    /// ICMP errors quoting the connection (the last few).
    private(set) var icmp: [(t: Double, facts: ICMPErrorFacts)] = []

    init(index: Int, tracker: TCPConnectionTracker, timeline: Timeline) {
        self.index = index; self.tracker = tracker; self.timeline = timeline
    }

    /// Every event the tracker builds (it builds none per ordinary data segment with these
    /// options; zero-window probes and duplicate ACKs come as unimportant): the timeline
    /// bounds a long run.
    func wants(important: Bool) -> Bool { true }

    func record(_ e: Event) {
        var e = e
        e.detail = "#\(index) \(e.detail)"
        e.fields.insert(("connection", .int(Int64(index))), at: 0)
        timeline.append(e)
    }

    func observe(_ o: FlowObservation) {
        if let f = o.icmp {
            if icmp.count >= 8 { icmp.removeFirst() }
            icmp.append((o.t, f))
        }
    }

    /// The inspected socket's FIN or RST on the wire, if one was seen.
    var sent: (kind: String, t: Double)? {
        let me = tracker.sides[0]
        if let r = me.rstAt { return ("RST", r) }
        if let f = me.finAt { return ("FIN", f) }
        return nil
    }

    /// The peer's RST or FIN on the wire.
    var received: (kind: String, t: Double)? {
        let peer = tracker.sides[1]
        if let r = peer.rstAt { return ("RST", r) }
        if let f = peer.finAt { return ("FIN", f) }
        return nil
    }
}
