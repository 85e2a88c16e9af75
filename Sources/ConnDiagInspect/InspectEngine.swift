import Glibc
import ConnDiagCore
import ConnDiagPlatform

/// Inspects a running process's TCP sockets: one sample (sock_diag + the options read back
/// + a prediction each), and with `follow` a sample every interval with events on what
/// changed and an outcome for each connection that dies. Never prints; drivable from tests.
public final class InspectEngine {
    public let config: InspectConfig
    public let timeline: Timeline
    let interrupt: InterruptSource?
    /// One pidfd per owning process, for the run (new connections under --follow reuse it).
    var readers: [Int32: SocketOptionsReader] = [:]

    public init(config: InspectConfig, timeline: Timeline = Timeline(), interrupt: InterruptSource? = nil) {
        self.config = config; self.timeline = timeline; self.interrupt = interrupt
    }

    var clock: RunClock { timeline.clock }

    public func run() throws -> InspectResult {
        let pid: Int32?
        switch config.scope {
        case .process(let p): pid = p
        case .all(let p): pid = p
        }
        if let pid, kill(pid, 0) != 0 && errno == ESRCH { throw ConnDiagError.usage("no process \(pid)") }
        let namespace = try InspectedNamespace.open(pid: pid)
        let sampledAt0 = clock.now()
        let sockets = try namespace.dump.dumpTCP().filter(config.matches)
        let sampledAt = (sampledAt0 + clock.now()) / 2

        // Owners: the process's fd table, or for --all a bounded scan of every process.
        var owners: [UInt32: SocketOwner] = [:]
        var ownersComplete = true
        var selected = sockets
        var processName: String?
        var ownershipNote: String?
        var ownerUID: UInt32?
        if case .process(let p) = config.scope {
            let name = SocketOwnership.command(of: p)
            processName = name
            switch SocketOwnership.table(of: p) {
            case .sockets(let fds):
                for (inode, fd) in fds { owners[inode] = SocketOwner(pid: p, fd: fd, command: name) }
                selected = sockets.filter { $0.inode != 0 && fds[$0.inode] != nil }
            case .noSuchProcess:
                throw ConnDiagError.usage("no process \(p)")
            case .denied:
                // Without ptrace rights the fd links cannot be read: show the sockets of the
                // process's uid in its namespace, say so, and leave the options unknown.
                guard let uid = SocketOwnership.uid(of: p) else { throw ConnDiagError.usage("no process \(p)") }
                selected = sockets.filter { $0.uid == uid && $0.state != .timeWait }
                ownerUID = uid
                ownershipNote = "no ptrace rights over pid \(p): its descriptors cannot be read; showing the TCP sockets of its uid \(uid) in its namespace"
            }
        } else {
            if let p = pid { processName = SocketOwnership.command(of: p) }
            let found = SocketOwnership.owners(of: Set(sockets.map(\.inode).filter { $0 != 0 }))
            owners = found.owners; ownersComplete = found.complete
        }
        var connections: [InspectedConnection] = []
        for (i, s) in selected.enumerated() {
            connections.append(connection(index: i + 1, socket: s, owner: owners[s.inode], denied: ownershipNote != nil,
                                          kernel: namespace.kernel, sampledAt: sampledAt))
        }
        var result = InspectResult(pid: pid, command: processName, namespace: namespace.identity, ownNamespace: namespace.isOwn,
                                   kernel: namespace.kernel, conntrackEstablishedTimeout: namespace.conntrackEstablishedTimeout,
                                   connections: connections, findings: [])
        result.ownersComplete = ownersComplete
        result.ownershipNote = ownershipNote
        result.findings = connections.flatMap {
            InspectFinding.findings(for: $0, idleTimeout: config.idleTimeout, conntrack: namespace.conntrackEstablishedTimeout)
        }
        if config.follow {
            let follower = ConnectionFollower(engine: self, namespace: namespace, pid: pid, connections: connections, ownerUID: ownerUID)
            var follow = try follower.run()
            follow.captureRequested = config.capture
            result.follow = follow
            result.connections += follow.newConnections
            result.findings += follow.newConnections.flatMap {
                InspectFinding.findings(for: $0, idleTimeout: config.idleTimeout, conntrack: namespace.conntrackEstablishedTimeout)
            }
            result.interrupted = interrupt?.isRaised ?? false
        }
        return result
    }

    /// One connection as reported: its options read through one pidfd per owning process
    /// (each duplicate closed at once) and the prediction for the sample.
    func connection(index: Int, socket s: SockDiagSocket, owner: SocketOwner?, denied: Bool, kernel: KernelSettings, sampledAt: Double) -> InspectedConnection {
        let options: OptionsReading
        if let owner {
            let reader = readers[owner.pid] ?? SocketOptionsReader(pid: owner.pid)
            readers[owner.pid] = reader
            options = reader.read(fd: owner.fd)
        } else {
            options = .unknown(denied ? "unknown (no ptrace rights)"
                               : s.inode == 0 ? "unknown (no owner: the socket has no descriptor)" : "unknown (owner not found)")
        }
        let prediction = DeathPrediction.predict(s, options: options.options, kernel: kernel)
        return InspectedConnection(index: index, socket: s, owner: owner, options: options, prediction: prediction, sampledAt: sampledAt)
    }

    /// Sleeps until `deadline` (run clock) or the interrupt; false when interrupted.
    func wait(until deadline: Double) -> Bool {
        while true {
            if interrupt?.isRaised == true { return false }
            let left = deadline - clock.now()
            if left <= 0 { return true }
            if let interrupt {
                var fds = [pollfd(fd: interrupt.readFD, events: Int16(POLLIN), revents: 0)]
                _ = Syscall.poll(&fds, timeoutMs: Int32(max(1, (left * 1000).rounded(.up))))
            } else {
                usleep(UInt32(left * 1e6))
            }
        }
    }
}
