/// How a run or an attempt ended (ARCHITECTURE.md §3).
public enum OutcomeStatus: String, Sendable, CaseIterable {
    case connected, refused, unreachable, timeout, detected, survived, closed, error
    /// The evidence ends too early to judge (a capture that stops right after a SYN).
    case undetermined
}

/// Which mechanism noticed the failure.
public enum Mechanism: String, Sendable, CaseIterable {
    case rst
    case icmp
    case synRetriesExhausted = "syn-retries-exhausted"
    case keepalive
    case userTimeout = "user-timeout"
    case retransmissionLimit = "retransmission-limit"
    case h2PingTimeout = "h2-ping-timeout"
    case goaway
    case goawayGraceExpired = "goaway-grace-expired"
    case peerFin = "peer-fin"
    case peerRst = "peer-rst"
    case deadline
    /// Found by analysis of the flow-control windows: a send window stuck at zero while the
    /// peer still answers PINGs (it stopped reading). No timer in the stack notices this.
    case flowControlStall = "flow-control-stall"
    /// A fatal TLS alert ended the connection (from a capture: the alert record, or TLS 1.3's
    /// encrypted alert by its size).
    case tlsAlert = "tls-alert"
    /// The server's certificate did not verify (expired, wrong name, unknown CA).
    case tlsVerify = "tls-verify"
    case none
}

public struct Outcome: Sendable {
    public var status: OutcomeStatus
    public var mechanism: Mechanism
    /// Seconds since the start of the run (nil when nothing was detected).
    public var detectedAt: Double?
    /// What the kernel model predicted for the same moment (nil when nothing predicts it).
    public var predictedAt: Double?
    /// The errno the socket reported, by symbolic name.
    public var errno: String?
    /// One line a person reads: what happened, when, and which mechanism noticed.
    public var summary: String
    /// Second verdict line: the prediction and why detection differed from it.
    public var explanation: String?
    /// Per-command extras (e.g. `handshake_rtt_ms`, `icmp_type`).
    public var extra: [(String, JSONValue)]

    public init(status: OutcomeStatus, mechanism: Mechanism, detectedAt: Double? = nil,
                predictedAt: Double? = nil, errno: String? = nil, summary: String,
                explanation: String? = nil, extra: [(String, JSONValue)] = []) {
        self.status = status; self.mechanism = mechanism; self.detectedAt = detectedAt
        self.predictedAt = predictedAt; self.errno = errno; self.summary = summary
        self.explanation = explanation; self.extra = extra
    }

    /// True for outcomes that mean the target was healthy.
    public var isHealthy: Bool { status == .connected || status == .survived }

    public var json: JSONValue {
        var o: [(String, JSONValue)] = [
            ("status", .string(status.rawValue)),
            ("mechanism", .string(mechanism.rawValue)),
            ("detected_at", detectedAt.map { .double(round6($0)) } ?? .null),
            ("predicted_at", predictedAt.map { .double(round6($0)) } ?? .null),
            ("errno", errno.map { .string($0) } ?? .null),
            ("summary", .string(summary)),
        ]
        if let e = explanation { o.append(("explanation", .string(e))) }
        o.append(contentsOf: extra)
        return .object(o)
    }
}

public func round6(_ d: Double) -> Double { (d * 1_000_000).rounded() / 1_000_000 }
