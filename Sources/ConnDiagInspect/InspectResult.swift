import ConnDiagCore

/// Everything one `inspect` run found: the namespace and process, each connection with its
/// prediction, the findings, and with `--follow` the deaths seen and how they compare.
public struct InspectResult: Sendable {
    public var pid: Int32?
    public var command: String?
    public var namespace: String
    public var ownNamespace: Bool
    public var kernel: KernelSettings
    public var conntrackEstablishedTimeout: Int?
    public var connections: [InspectedConnection]
    public var findings: [InspectFinding]
    /// With --all: whether every process was looked at for owners.
    public var ownersComplete: Bool = true
    /// Why the connections were chosen another way than by the process's descriptors.
    public var ownershipNote: String?
    public var follow: FollowSummary?
    public var interrupted = false

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("pid", pid.map { Int($0) })
        b.add("process", command)
        b.add("namespace", .object([("net", .string(namespace)), ("own", .bool(ownNamespace))]))
        b.add("nf_conntrack_tcp_timeout_established", conntrackEstablishedTimeout)
        if !ownersComplete { b.add("owners_complete", false) }
        b.add("ownership_note", ownershipNote)
        var followPairs: [(String, JSONValue)] = []
        if let f = follow {
            followPairs.append(("deaths", .array(f.deaths.map(\.json))))
            var fb = JSONObjectBuilder()
            fb.add("samples", f.samples)
            fb.add("process_exited_at", f.processExitedAt.map { JSONValue.double(round6($0)) } ?? .null)
            fb.add("new_connections", f.newConnections.count)
            fb.add("not_followed", f.notFollowed)
            fb.add("cap_note", f.capNote)
            fb.add("capture", f.captureRequested ? .bool(f.captureNote == nil) : .null)
            fb.add("capture_note", f.captureNote)
            followPairs.append(("follow", fb.value))
        }
        return .object(b.pairs + [("connections", .array(connections.map(\.json))),
                                  ("findings", .array(findings.map(\.json)))] + followPairs)
    }
}

/// What `--follow` saw end: each connection that died, and whether the process exited.
public struct FollowSummary: Sendable {
    public var deaths: [ConnectionDeath]
    public var processExitedAt: Double?
    public var samples: Int
    /// Connections opened after the start and followed (they are also in the result's list).
    public var newConnections: [InspectedConnection] = []
    /// Connections not followed because of the cap, and when it was first hit.
    public var notFollowed = 0
    public var capReachedAt: Double?
    public var capNote: String?
    /// --capture was asked for; why it is off, when it is (no CAP_NET_RAW).
    public var captureRequested = false
    public var captureNote: String?
    public init(deaths: [ConnectionDeath] = [], processExitedAt: Double? = nil, samples: Int = 0) {
        self.deaths = deaths; self.processExitedAt = processExitedAt; self.samples = samples
    }
}

/// One connection that disappeared from the kernel's tables while followed.
public struct ConnectionDeath: Sendable {
    public var connection: Int
    public var local: String
    public var remote: String
    /// The last sample that still showed it and the first that did not (run clock).
    public var lastSeenAt: Double
    public var goneAt: Double
    public var status: OutcomeStatus
    public var mechanism: Mechanism
    /// What the mechanism was inferred from (the last state, timer and counters seen).
    public var evidence: String
    /// The prediction made at the last sample before it died.
    public var predictedAt: Double?
    public var predictedMechanism: Mechanism
    /// The prediction made when the trouble began (the first unanswered probe or RTO
    /// retransmission seen), seconds ahead of the death: the one worth comparing.
    public var episode: DeathEpisode?
    /// When the process exited with the connection still open: how the kernel closed it.
    public var processExit: ProcessExitClose?
    /// The moment the wire dates the death (the kernel's RST of a keepalive abort).
    public var wireAt: Double?

    /// The wire's time when the capture saw it; else the middle of the window in which it
    /// died: the estimate compared with the prediction.
    public var diedAt: Double { wireAt ?? (lastSeenAt + goneAt) / 2 }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("connection", connection)
        b.add("local", local)
        b.add("remote", remote)
        b.add("status", status.rawValue)
        b.add("mechanism", mechanism.rawValue)
        b.add("detected_at", round6(diedAt))
        b.add("window", .array([.double(round6(lastSeenAt)), .double(round6(goneAt))]))
        b.add("predicted_at", predictedAt.map { JSONValue.double(round6($0)) } ?? .null)
        b.add("predicted_mechanism", predictedMechanism.rawValue)
        b.add("error_ms", predictedAt.map { JSONValue.double(((diedAt - $0) * 1000).rounded()) } ?? .null)
        if let e = episode {
            b.add("episode", .object([("started_at", .double(round6(e.startedAt))), ("predicted_at", .double(round6(e.predictedAt))),
                                      ("mechanism", .string(e.mechanism.rawValue)),
                                      ("error_ms", .double(((diedAt - e.predictedAt) * 1000).rounded()))]))
        }
        if let x = processExit {
            b.add("process_exit", .object([("exited_at", .double(round6(x.exitedAt))), ("kernel_sent", x.kernelSent.map { .string($0) } ?? .null),
                                           ("evidence", .string(x.evidence))]))
        }
        if wireAt != nil { b.add("dated_by", "capture") }
        b.add("evidence", evidence)
        return b.value
    }
}

/// The first sample of a connection in trouble (an unanswered probe, an RTO retransmission)
/// and what was predicted then.
public struct DeathEpisode: Sendable, Equatable {
    public var startedAt: Double
    public var predictedAt: Double
    public var mechanism: Mechanism
    public init(startedAt: Double, predictedAt: Double, mechanism: Mechanism) {
        self.startedAt = startedAt; self.predictedAt = predictedAt; self.mechanism = mechanism
    }
}

/// How the kernel closed a connection whose process exited: "FIN" or "RST" when seen (on the
/// wire, or from the socket's state or unread data), "FIN queued" when unsent data holds the
/// FIN back, nil when neither could be seen.
public struct ProcessExitClose: Sendable, Equatable {
    public var exitedAt: Double
    public var kernelSent: String?
    public var wireAt: Double?
    public var evidence: String
    public init(exitedAt: Double, kernelSent: String?, wireAt: Double?, evidence: String) {
        self.exitedAt = exitedAt; self.kernelSent = kernelSent; self.wireAt = wireAt; self.evidence = evidence
    }
}
