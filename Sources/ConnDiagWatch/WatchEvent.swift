import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagDiagnosis

/// What `watch` says while it runs, in the order it becomes known.
public enum WatchEvent {
    /// The capture is open: where and with which kernel settings.
    case started(WatchStart)
    /// A failure under way (a warning with its prediction) or a connection's outcome.
    case finding(WatchFinding)
    /// The periodic counters: packets, kernel drops, connections followed.
    case status(WatchStatus)
}

public struct WatchStart: Sendable {
    public var interface: String
    public var filter: String
    /// "the current network namespace", "network namespace NAME", ...
    public var namespace: String
    public var kernel: KernelSettings
    public var linkType: String
}

/// One line of `watch`: a failure under way or a connection's outcome.
public struct WatchFinding: Sendable {
    public enum Phase: String, Sendable { case inProgress = "in-progress", outcome }
    public var phase: Phase
    public var severity: Severity
    /// The finding kind: "syn-retransmitting", "retransmitting", "keepalive-unanswered" while
    /// under way; the connection's most severe finding kind for an outcome.
    public var kind: String
    /// The outcome's mechanism (the predicted one while under way).
    public var mechanism: Mechanism
    public var connection: Int
    public var client: Endpoint
    public var server: Endpoint
    public var protocolName: String
    /// Seconds since the watch started (run clock).
    public var t: Double
    /// CLOCK_REALTIME nanoseconds of the moment it became known.
    public var wallNanos: Int64
    public var summary: String
    /// Run-clock seconds when the kernel is predicted to end the connection (in progress), or
    /// the prediction made earlier (outcome).
    public var predictedAt: Double?
    /// What the prediction rests on ("TCP_SYNCNT 2 read from the socket of pid 41 (curl)",
    /// "tcp_syn_retries 6, the namespace's default: the socket was not found").
    public var basis: String?
    /// For an outcome after a warning: "as predicted" or "predicted X, happened Y".
    public var check: String?
    /// For an outcome: when it happened (run clock), and the full report of the connection.
    public var happenedAt: Double?
    public var outcome: Outcome?
    public var report: ConnectionReport?
    /// The capture dropped packets while this connection was open: the verdict may rest on
    /// an incomplete view.
    public var dropsWhileOpen: Bool = false
}

public struct WatchStatus: Sendable {
    public var t: Double
    public var packetsReceived: UInt64
    public var packetsDropped: UInt64
    public var packetsHandled: Int
    public var connectionsOpen: Int
    public var connectionsReported: Int
    public var findings: Int
}

/// The end of a run: what it saw, for the summary and the exit code.
public struct WatchSummary: Sendable {
    public var duration: Double
    public var interrupted: Bool
    /// Why it stopped: "interrupted", "duration", "until-first", "capture-error".
    public var stoppedBy: String
    public var status: WatchStatus
    public var connectionsReported: Int
    public var warningsInProgress: Int
    /// Findings by kind (outcomes and warnings), most first.
    public var findingsByKind: [(kind: String, count: Int)]
    /// Outcomes by mechanism.
    public var outcomesByMechanism: [(mechanism: String, count: Int)]
    public var worstSeverity: Severity?
    public var evictionNote: String?
    public var pcapNote: String?
    public var problems: [String]
}
