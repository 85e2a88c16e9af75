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
        return .object(b.pairs + [("connections", .array(connections.map(\.json))),
                                  ("findings", .array(findings.map(\.json)))]
                       + (follow.map { [("deaths", .array($0.deaths.map(\.json)))] } ?? []))
    }
}

/// What `--follow` saw end: each connection that died, and whether the process exited.
public struct FollowSummary: Sendable {
    public var deaths: [ConnectionDeath]
    public var processExitedAt: Double?
    public var samples: Int
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

    /// The middle of the window in which it died: the estimate compared with the prediction.
    public var diedAt: Double { (lastSeenAt + goneAt) / 2 }

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
