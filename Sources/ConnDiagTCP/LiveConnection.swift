import Glibc
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket

/// One kernel TCP connection under observation: the socket with the user's options, the
/// captures beside it, and the connection tracker that says what each captured packet of the
/// flow means (client = our socket, server = the remote) as typed observations and events.
/// Engines drive it from their own poll loop.
public final class LiveConnection {
    public let socket: TCPSocket
    public let remote: SocketAddress
    public private(set) var local: SocketAddress
    public let effective: EffectiveSocketOptions
    public private(set) var tracker: TCPConnectionTracker
    /// What each packet of the flow meant, typed: the evidence verdicts read.
    public private(set) var wire = RecentLog<FlowObservation>()
    public let captures: CaptureSet
    public let timeline: Timeline
    /// Fields added to every event (e.g. the attempt number of a repeated run).
    public var tag: [(String, JSONValue)] = []
    /// Lets an engine annotate wire events (predictions) before they enter the timeline.
    public var decorateWireEvent: ((inout Event) -> Void)?
    private var lastInfo: TCPInfo?
    public private(set) var lastInfoSample: TCPInfo?
    /// The TCP_INFO samples that went on the timeline (a counter that matters changed), typed.
    public private(set) var infoSamples = RecentLog<TCPInfoSample>()

    public init(remote: SocketAddress, options: SocketOptions, captures: CaptureSet, timeline: Timeline) throws {
        self.remote = remote
        self.captures = captures
        self.timeline = timeline
        socket = try TCPSocket(family: remote.family)
        try socket.apply(options)
        let anyAddress: IPAddress = remote.ip.isIPv6 ? .v6(0, 0) : .v4(0)
        try socket.bind(SocketAddress(ip: options.source ?? anyAddress, port: options.sourcePort ?? 0))
        local = try socket.localAddress()
        effective = try socket.effectiveOptions()
        tracker = LiveConnection.tracker(local: local, remote: remote)
    }

    static func tracker(local: SocketAddress, remote: SocketAddress) -> TCPConnectionTracker {
        TCPConnectionTracker(client: Endpoint(local.ip, local.port), server: Endpoint(remote.ip, remote.port),
                             midConnection: false, at: 0, options: .liveFlow)
    }

    public func add(_ e: Event) {
        var e = e
        if !tag.isEmpty { e.fields = tag + e.fields }
        timeline.append(e)
    }

    public var clock: RunClock { timeline.clock }

    /// Starts connect(). Returns 0 when it completed at once, an errno when it failed at
    /// once, nil while in progress. The tracker learns the source address the kernel chose.
    public func startConnect() -> Int32? {
        var result: Int32? = nil
        do {
            if try socket.startConnect(to: remote) { result = 0 }
        } catch let e as SyscallError {
            result = e.errno.rawValue
        } catch { result = EIO }
        if let chosen = try? socket.localAddress() {
            local = chosen
            tracker = LiveConnection.tracker(local: chosen, remote: remote)
        }
        return result
    }

    /// Reads the packets the captures hold (up to a batch each) and appends the events they
    /// amount to. Returns true when a capture filled its batch and may hold more.
    @discardableResult
    public func pumpCaptures() -> Bool {
        var more = false
        for c in captures.captures {
            let status = c.read { packet in
                let decoded = PacketDecoder.decode(packet.bytes, linkType: c.linkType, wireLength: packet.originalLength)
                let t = clock.fromRealtime(nanos: packet.timestampNanos)
                tracker.observe(decoded, at: t, sink: self)
            }
            if case .more = status { more = true }
        }
        return more
    }

    /// Reads what the captures hold, then waits, at most `seconds`, only while the packets
    /// that explain the socket's result are still missing. Without capture it returns at once.
    public func drainCaptures(until explanation: WireExplanation, atMost seconds: Double = WireExplanation.defaultWait) {
        guard captures.isActive else { return }
        let deadline = clock.now() + seconds
        // A full batch means more may be waiting: read on (within the bound) before judging.
        func readAll() { while pumpCaptures() && clock.now() < deadline {} }
        readAll()
        while !explanation.isComplete(in: tracker) {
            let left = deadline - clock.now()
            if left <= 0 { return }
            var fds = captureFDs()
            _ = poll(&fds, nfds_t(fds.count), Int32((left * 1000).rounded(.up)))
            readAll()
        }
    }

    public func captureFDs() -> [pollfd] {
        captures.captures.map { pollfd(fd: $0.selectableFD, events: Int16(POLLIN), revents: 0) }
    }

    /// Samples TCP_INFO; appends a `tcp-info` event when a counter that matters changed.
    @discardableResult
    public func sampleInfo(at t: Double, force: Bool = false) -> TCPInfo? {
        guard let info = socket.tcpInfo() else { return nil }
        lastInfoSample = info
        if !force, let l = lastInfo, !info.differsMeaningfully(from: l) { return info }
        lastInfo = info
        infoSamples.append(TCPInfoSample(t: t, retransmits: Int(info.retransmits), unacked: Int(info.unacked), rtoMs: info.rtoMs))
        add(Event(t: t, source: .socket, kind: .tcpInfo, detail: info.summary, fields: info.fields))
        return info
    }

    public enum ConnectResult: Equatable { case connected, failed(Int32), deadline, interrupted, safetyCap }

    /// Polls until connect() finishes, the deadline passes or the run is interrupted,
    /// pumping captures and sampling TCP_INFO on the way.
    public func waitForConnect(started: Double, deadline: Double?, safetyCap: Double) -> (ConnectResult, Double) {
        var nextSample = started
        while true {
            let now = clock.now()
            if now >= nextSample { sampleInfo(at: now); nextSample = now + 0.1 }
            var fds = [pollfd(fd: socket.fd, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: InterruptSignal.shared.readFD, events: Int16(POLLIN), revents: 0)] + captureFDs()
            var waitMs = Int32(100)
            if let d = deadline { waitMs = min(waitMs, Int32(max(0, (d - now) * 1000).rounded(.up))) }
            // Poll before judging the deadline: an answer that is already there wins.
            _ = poll(&fds, nfds_t(fds.count), waitMs)
            pumpCaptures()
            if fds[0].revents != 0 {
                let at = clock.now()
                let e = socket.pendingError()
                if e != 0 { return (.failed(e), at) }
                return fds[0].revents & Int16(POLLOUT) != 0 ? (.connected, at) : (.failed(EIO), at)
            }
            let after = clock.now()
            if let d = deadline, after >= d { return (.deadline, d) }
            if after >= safetyCap { return (.safetyCap, after) }
            if InterruptSignal.shared.isRaised { return (.interrupted, clock.now()) }
        }
    }
}

extension LiveConnection: TCPTrackerSink {
    /// One flow: every event is kept (the timeline bounds a long run).
    public func wants(important: Bool) -> Bool { true }

    public func record(_ e: Event) {
        var e = e
        decorateWireEvent?(&e)
        add(e)
    }

    public func observe(_ o: FlowObservation) { wire.append(o) }
}
