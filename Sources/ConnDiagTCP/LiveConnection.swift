import Glibc
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
import ConnDiagPlatform

/// One kernel TCP connection under observation: the socket with the user's options, the
/// captures beside it, and the connection tracker that says what each captured packet of the
/// flow means (client = our socket, server = the remote) as typed observations and events.
/// Engines drive it on its reactor: the captures are registered there at birth, the engine
/// registers the socket.
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
    /// The run's one event loop: captures (pumped after every wake-up) and the interrupt.
    public let reactor: Reactor
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
        reactor = Reactor(clock: timeline.clock)
        for c in captures.captures {
            reactor.registerCapture(fd: c.selectableFD) { [unowned self] in _ = self.pump(c) }
        }
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
        for c in captures.captures where pump(c) { more = true }
        return more
    }

    /// Reads up to a batch from one capture; true when the batch filled.
    private func pump(_ c: PacketCapture) -> Bool {
        let status = c.read { packet in
            let decoded = PacketDecoder.decode(packet.bytes, linkType: c.linkType, wireLength: packet.originalLength)
            let t = clock.fromRealtime(nanos: packet.timestampNanos)
            tracker.observe(decoded, at: t, sink: self)
        }
        if case .more = status { return true }
        return false
    }

    /// Reads what the captures hold, then waits, at most `seconds`, only while the packets
    /// that explain the socket's result are still missing. Without capture it returns at once.
    public func drainCaptures(until explanation: WireExplanation, atMost seconds: Double = WireExplanation.defaultWait) {
        guard captures.isActive else { return }
        let deadline = clock.now() + seconds
        // A full batch means more may be waiting: read on (within the bound) before judging.
        func readAll() { while pumpCaptures() && clock.now() < deadline {} }
        readAll()
        // Its own reactor, captures only and deaf to the interrupt: the drain is bounded and
        // is part of the report an interrupted run still writes.
        let waiter = Reactor(clock: clock, interrupt: nil)
        for c in captures.captures { waiter.registerCapture(fd: c.selectableFD) {} }
        while !explanation.isComplete(in: tracker) {
            let left = deadline - clock.now()
            if left <= 0 { return }
            waiter.runOnce(timeout: left)
            readAll()
        }
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

    /// Waits on the reactor until connect() finishes, the deadline passes or the run is
    /// interrupted, pumping captures and sampling TCP_INFO every 100 ms on the way.
    public func waitForConnect(started: Double, deadline: Double?, safetyCap: Double) -> (ConnectResult, Double) {
        var answer: (ConnectResult, Double)?
        // TCP_INFO every 100 ms on a reactor timer, until the answer arrives (timers fire
        // after handlers: a due sample in the answer's wake-up is cancelled, not taken).
        var sampler: Reactor.TimerID?
        func sample() {
            let now = clock.now()
            sampleInfo(at: now)
            sampler = reactor.schedule(at: now + 0.1) { sample() }
        }
        let registration = reactor.register(fd: socket.fd, interest: .writable) { [unowned self] readiness in
            if let sampler { reactor.cancel(sampler) }
            let at = clock.now()
            let e = socket.pendingError()
            if e != 0 { answer = (.failed(e), at); return }
            answer = readiness.contains(.writable) ? (.connected, at) : (.failed(EIO), at)
        }
        defer {
            reactor.deregister(registration)
            if let sampler { reactor.cancel(sampler) }
        }
        sample()
        while true {
            let now = clock.now()
            var wait = safetyCap - now
            if let d = deadline { wait = min(wait, d - now) }
            // Wait before judging the deadline: an answer that is already there wins.
            if !reactor.runOnce(timeout: max(0, wait)) { return (.interrupted, clock.now()) }
            if let answer { return answer }
            let after = clock.now()
            if let d = deadline, after >= d { return (.deadline, d) }
            if after >= safetyCap { return (.safetyCap, after) }
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
