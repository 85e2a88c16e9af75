import ConnDiagCore

/// What the kernel would do if the peer vanished at the moment of a sample: when the
/// connection would be found dead and by which mechanism, from the kernel model
/// (`KeepaliveSchedule`, `RetransmissionSchedule`, `SYNSchedule`), the options read back and
/// the namespace's sysctls. Anchored on the armed timer's expiry (idiag_expires) where one
/// is armed, since that is the kernel's own clock; else on the time since the peer was heard.
public struct DeathPrediction: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Found dead this many seconds after the sample.
        case after(Double)
        /// Nothing notices while the connection stays idle; after the next write the
        /// retransmission limit (or user timeout) does, this long after that write's RTO.
        case neverWhileIdle(afterNextWrite: Double)
        /// No prediction (listening, closing, options unknown, ...).
        case none
    }

    public var kind: Kind
    public var mechanism: Mechanism
    /// The line a person reads: the numbers and the formula behind them.
    public var explanation: String

    public init(kind: Kind, mechanism: Mechanism, explanation: String) {
        self.kind = kind; self.mechanism = mechanism; self.explanation = explanation
    }

    public var seconds: Double? { if case .after(let s) = kind { return s }; return nil }

    /// The prediction for one sampled socket.
    public static func predict(_ s: SockDiagSocket, options: ApplicationOptions?, kernel: KernelSettings) -> DeathPrediction {
        let hz = kernel.hz
        guard let info = s.info else { return DeathPrediction(kind: .none, mechanism: .none, explanation: "no tcp_info for this state") }
        let expires = Double(s.expiresMs) / 1000
        switch s.state {
        case .synSent:
            let n = (options?.synCount).flatMap { $0 > 0 ? $0 : nil } ?? kernel.tcpSynRetries
            let schedule = SYNSchedule(syncnt: n, linearTimeouts: kernel.tcpSynLinearTimeouts ?? 0, rtoMax: kernel.rtoMax, hz: hz)
            let done = Int(info.retransmits)
            let nextFiring = done + 1 < schedule.synTimes.count ? schedule.synTimes[done + 1] : schedule.giveUpAt
            // The armed timer fires late by the wheel's lateness for that step, as the others.
            let late = lateness(real: schedule.synTimes + [schedule.giveUpAt], nominal: schedule.nominalSynTimes + [schedule.nominalGiveUpAt], step: done + 1)
            let remaining = max(0, schedule.giveUpAt - (nextFiring - expires - late))
            return DeathPrediction(kind: .after(remaining), mechanism: .synRetriesExhausted,
                                   explanation: "connect() fails with ETIMEDOUT in \(text(remaining)): \(done) of \(schedule.synTimes.count - 1) SYN retransmissions done (TCP_SYNCNT \(n))")
        case .established, .closeWait, .finWait1, .lastAck, .closing:
            break
        default:
            return DeathPrediction(kind: .none, mechanism: .none, explanation: "-")
        }
        let userTimeout = options?.userTimeout ?? 0
        let retries2 = kernel.tcpRetries2
        let limitName = userTimeout > 0 ? "TCP_USER_TIMEOUT \(text(userTimeout))" : "tcp_retries2=\(retries2)"
        if info.unacked > 0 || s.timer == .retransmit {
            // Unacknowledged data: keepalive does not apply; RTO backoff until the limit.
            let b = Int(info.backoff)
            let firstRTO = max(0.2, info.rto / Double(1 << min(b, 30)))
            let schedule = RetransmissionSchedule(firstRTO: firstRTO, retries2: retries2, userTimeout: userTimeout, rtoMax: kernel.rtoMax, hz: hz)
            // The armed timer is RTO retransmission number b + 1 (0-based index b from rs).
            let nextFiring = b < schedule.retransmissions.count ? schedule.retransmissions[b] : schedule.giveUpAt
            // idiag_expires is the time asked for; the wheel fires the armed timer later by
            // the lateness the model gives that step.
            let nominal = RetransmissionSchedule(firstRTO: firstRTO, retries2: retries2, userTimeout: userTimeout, rtoMax: kernel.rtoMax)
            let late = b >= 1 ? lateness(real: schedule.retransmissions + [schedule.giveUpAt], nominal: nominal.retransmissions + [nominal.giveUpAt], step: b) : 0
            let rsFromNow = s.timer == .retransmit ? expires + late - nextFiring : info.rto
            let remaining = max(0, rsFromNow + schedule.giveUpAt)
            let mechanism: Mechanism = userTimeout > 0 ? .userTimeout : .retransmissionLimit
            let total = schedule.retransmissions.count
            return DeathPrediction(kind: .after(remaining), mechanism: mechanism,
                                   explanation: "ETIMEDOUT in \(text(remaining)) by \(limitName): \(b) of \(total) RTO retransmissions done, RTO \(text(info.rto))")
        }
        if s.timer == .zeroWindowProbe { return zeroWindow(s, info, options: options, kernel: kernel) }
        guard let options else {
            return keepaliveUnknown(s, info, kernel: kernel)
        }
        if options.keepalive {
            let schedule = KeepaliveSchedule(idle: Double(options.keepIdle), interval: Double(options.keepInterval),
                                             count: options.keepCount, userTimeout: userTimeout, hz: hz)
            let p = Int(info.probes)
            // The armed keepalive timer is probe p + 1 (index p), or the abort when all are out.
            let remaining: Double
            if s.timer == .keepalive {
                let nextFiring = p < schedule.probes.count ? schedule.probes[p] : schedule.abortAt
                let nominal = KeepaliveSchedule(idle: Double(options.keepIdle), interval: Double(options.keepInterval),
                                                count: options.keepCount, userTimeout: userTimeout)
                let late = p >= 1 ? lateness(real: schedule.probes + [schedule.abortAt], nominal: nominal.probes + [nominal.nominalAbortAt], step: p) : 0
                remaining = max(0, expires + late + schedule.abortAt - nextFiring)
            } else {
                remaining = max(0, schedule.abortAt - info.idleSeconds)
            }
            let how = schedule.mechanism == .userTimeout
                ? "user-timeout (UT \(text(userTimeout)) caps KEEPCNT)"
                : "keepalive (\(options.keepIdle)s + \(options.keepInterval)s x \(options.keepCount))"
            return DeathPrediction(kind: .after(remaining), mechanism: schedule.mechanism,
                                   explanation: "found in \(text(remaining)) by \(how), \(p) probes out")
        }
        let schedule = RetransmissionSchedule(firstRTO: max(0.2, info.rto), retries2: retries2, userTimeout: userTimeout, rtoMax: kernel.rtoMax, hz: hz)
        let afterWrite = max(0.2, info.rto) + schedule.giveUpAt
        return DeathPrediction(kind: .neverWhileIdle(afterNextWrite: afterWrite), mechanism: userTimeout > 0 ? .userTimeout : .retransmissionLimit,
                               explanation: "never while idle; after the next write ~\(text(afterWrite)) (\(limitName))")
    }

    /// The zero-window probe timer is armed: the peer answers probes but its window is 0
    /// (it stopped reading). If it vanished now, `ZeroWindowProbeSchedule` from the probes and
    /// backoff already done. Without the options, TCP_USER_TIMEOUT is unknown: assume 0 and say so.
    static func zeroWindow(_ s: SockDiagSocket, _ info: TCPInfoFields, options: ApplicationOptions?, kernel: KernelSettings) -> DeathPrediction {
        let userTimeout = options?.userTimeout ?? 0
        let schedule = ZeroWindowProbeSchedule(expires: Double(s.expiresMs) / 1000, probesOut: Int(info.probes), backoff: Int(info.backoff),
                                               rto: info.rto, retries2: kernel.tcpRetries2, userTimeout: userTimeout,
                                               rtoMax: kernel.rtoMax, hz: kernel.hz)
        let limit = schedule.mechanism == .userTimeout ? "TCP_USER_TIMEOUT \(text(userTimeout)) since the first probe"
            : "\(kernel.tcpRetries2) unanswered probes (tcp_retries2=\(kernel.tcpRetries2))"
        let caveat = options == nil ? "; TCP_USER_TIMEOUT unknown, assumed 0" : ""
        return DeathPrediction(kind: .after(schedule.giveUpAt), mechanism: schedule.mechanism,
                               explanation: "zero window (the peer stopped reading): ETIMEDOUT in \(text(schedule.giveUpAt)) by \(limit), \(info.probes) probes unanswered, backoff \(info.backoff)\(caveat)")
    }

    /// Options unknown (no ptrace rights): what the kernel shows still says something. An
    /// armed keepalive timer on an established connection means SO_KEEPALIVE is on (the
    /// kernel arms it only then); KEEPIDLE/KEEPINTVL/KEEPCNT stay unknown.
    static func keepaliveUnknown(_ s: SockDiagSocket, _ info: TCPInfoFields, kernel: KernelSettings) -> DeathPrediction {
        guard InferredOptions.keepaliveOn(s) else {
            return DeathPrediction(kind: .none, mechanism: .none, explanation: "unknown: the keepalive options could not be read")
        }
        let defaults = KeepaliveSchedule(idle: Double(kernel.tcpKeepaliveTime), interval: Double(kernel.tcpKeepaliveIntvl),
                                         count: kernel.tcpKeepaliveProbes, hz: kernel.hz)
        let ifDefaults = max(0, defaults.abortAt - info.idleSeconds)
        return DeathPrediction(kind: .none, mechanism: .keepalive,
                               explanation: "keepalive on (\(InferredOptions.keepaliveSource)), KEEPIDLE/KEEPINTVL/KEEPCNT unknown; with the namespace defaults (\(kernel.tcpKeepaliveTime)s + \(kernel.tcpKeepaliveIntvl)s x \(kernel.tcpKeepaliveProbes)) found in ~\(text(ifDefaults))")
    }

    static func text(_ s: Double) -> String { DurationText.elapsed(s) }

    /// How much later than asked the timer wheel fires step `step` of a schedule (the real
    /// gap from the step before minus the nominal one); 0 when the schedules do not line up.
    static func lateness(real: [Double], nominal: [Double], step: Int) -> Double {
        guard step >= 1, step < real.count, step < nominal.count else { return 0 }
        return max(0, (real[step] - real[step - 1]) - (nominal[step] - nominal[step - 1]))
    }
}
