import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagDiagnosis

/// A failure in progress on an open connection, judged from the tracker's side records
/// between packets, with the kernel model's prediction of when the kernel ends it: the
/// connect retrying SYNs, data retransmitted into silence, keepalive probes unanswered.
/// Times are on the reports' axis (seconds since the first captured packet).
struct FailureUnderWay {
    /// One per episode: the warning is made once per connection and episode.
    var episode: String
    var kind: String
    var mechanism: Mechanism
    /// The side (0 client, 1 server) whose kernel will give up.
    var side: Int
    /// nil when nothing predicts the end (a close under open streams has already happened).
    var predictedAt: Double?
    /// When the episode began (the first SYN, the peer's last segment): the "+X s" origin.
    var since: Double
    var summary: String
    var basis: String
    /// The outcome is decided now though nothing more will come on the wire (a connect given
    /// up, retransmissions stopped): the connection can be reported.
    var decided: Bool
}

/// The judgments, one per mechanism. Pure apart from the socket lookup it is handed.
struct FailureJudge {
    let kernel: KernelSettings
    /// Reads a local socket's options (only called when a judgment is about to be made).
    let lookup: (_ local: Endpoint, _ remote: Endpoint) -> LocalSocketOptions.Lookup

    /// SYN retransmissions before `warnAfterSYNs` SYNs are ordinary loss; from there on a
    /// connect users will notice.
    static let warnAfterSYNs = 3
    /// How long past the predicted give-up, with nothing more on the wire, before it is taken
    /// as happened (timers fire up to ~2.4 % late).
    static let settleMargin = 0.3

    func judge(_ c: OpenConnection, now: Double) -> FailureUnderWay? {
        syn(c, now: now) ?? keepalive(c, now: now, side: 0) ?? keepalive(c, now: now, side: 1)
            ?? retransmissions(c, now: now, side: 0) ?? retransmissions(c, now: now, side: 1) ?? closedUnderStreams(c)
    }

    // MARK: - SYN

    func syn(_ c: OpenConnection, now: Double) -> FailureUnderWay? {
        let tr = c.tracker, client = tr.sides[0], server = tr.sides[1]
        guard !tr.midConnection, client.synCount >= Self.warnAfterSYNs, server.synAckAt == nil, server.rstAt == nil,
              client.rstAt == nil, tr.icmpErrors.isEmpty, let first = client.synTimes.first else { return nil }
        let found = lookup(c.client, c.server)
        let syncnt: Int, basis: String
        if let o = found.options, o.synCount > 0 {
            syncnt = o.synCount
            basis = "TCP_SYNCNT \(syncnt) read from the socket of \(found.source)"
        } else {
            syncnt = kernel.tcpSynRetries
            basis = "tcp_syn_retries \(syncnt), the namespace's default (the socket's own TCP_SYNCNT: \(found.source))"
        }
        let model = SYNSchedule(syncnt: syncnt, linearTimeouts: kernel.tcpSynLinearTimeouts ?? 0, rtoMax: kernel.rtoMax, hz: kernel.hz)
        let giveUp = first + model.giveUpAt
        let lastSYN = client.synTimes.last ?? first
        let k = client.synCount - 1
        let summary = "SYN retransmission #\(k), no answer yet: connect() will fail at +\(DurationText.trimmed(model.giveUpAt)) s"
            + " (ETIMEDOUT, \(model.synTimes.count) SYNs; \(basis)) unless answered"
        let decided = now >= giveUp + Self.settleMargin && now - lastSYN >= Self.settleMargin
        return FailureUnderWay(episode: "syn", kind: "syn-retransmitting", mechanism: .synRetriesExhausted, side: 0,
                               predictedAt: giveUp, since: first, summary: summary, basis: basis, decided: decided)
    }

    // MARK: - Keepalive

    func keepalive(_ c: OpenConnection, now: Double, side: Int) -> FailureUnderWay? {
        let tr = c.tracker, me = tr.sides[side], peer = tr.sides[1 - side]
        guard me.probesUnanswered >= 1, me.episodeTimes.isEmpty, me.rstAt == nil, peer.rstAt == nil,
              let firstProbe = me.probeTimes.first, (peer.lastAt ?? 0) <= firstProbe else { return nil }
        let silent = tr.lastHeardBeforeProbes(side: side)
        let who = TCPConnectionTracker.name(side)
        let found = lookup(me.endpoint, peer.endpoint)
        let schedule: KeepaliveSchedule, basis: String
        if let o = found.options, o.keepalive {
            schedule = KeepaliveSchedule(idle: Double(o.keepIdle), interval: Double(o.keepInterval), count: o.keepCount,
                                         userTimeout: o.userTimeout, hz: kernel.hz)
            basis = "KEEPIDLE \(o.keepIdle) s, KEEPINTVL \(o.keepInterval) s, KEEPCNT \(o.keepCount)"
                + (o.userTimeoutMs > 0 ? ", TCP_USER_TIMEOUT \(DurationText.trimmed(o.userTimeout)) s" : "")
                + " read from the socket of \(found.source)"
        } else if me.probeTimes.count >= 2 {
            let idle = firstProbe - silent
            let gaps = zip(me.probeTimes.dropFirst(), me.probeTimes).map { $0 - $1 }.sorted()
            let interval = gaps[gaps.count / 2]
            let roundedIdle = idle >= 1 ? idle.rounded() : idle, roundedInterval = interval >= 1 ? interval.rounded() : interval
            schedule = KeepaliveSchedule(idle: roundedIdle, interval: roundedInterval, count: kernel.tcpKeepaliveProbes, hz: kernel.hz)
            basis = "KEEPIDLE ≈ \(DurationText.trimmed(roundedIdle)) s and KEEPINTVL ≈ \(DurationText.trimmed(roundedInterval)) s read off the probes,"
                + " KEEPCNT assumed tcp_keepalive_probes \(kernel.tcpKeepaliveProbes), the namespace's default (the socket's own options: \(found.source))"
        } else {
            return nil  // one probe and no options: the interval is not known yet
        }
        let abort = silent + schedule.abortAt
        let n = me.probesUnanswered
        let summary = "keepalive probe\(n == 1 ? "" : "s") \(n == 1 ? "#1" : "1-\(n)") from the \(who) unanswered:"
            + " the \(who)'s kernel will abort the connection at +\(DurationText.trimmed(schedule.abortAt)) s after it last heard the peer"
            + " (RST, ETIMEDOUT; \(basis)) unless answered"
        let lastProbe = me.probeTimes.last ?? firstProbe
        // Linux sends RST when it aborts, which reports the connection at once; without one
        // (another stack, or the RST lost), silence well past the abort decides.
        let decided = now >= abort + 2 && now - lastProbe >= 2
        return FailureUnderWay(episode: "keepalive:\(side):\(silent)", kind: "keepalive-unanswered", mechanism: schedule.mechanism,
                               side: side, predictedAt: abort, since: silent, summary: summary, basis: basis, decided: decided)
    }

    // MARK: - Retransmissions

    /// RTO retransmissions nothing acknowledges: tcp_retries2 or TCP_USER_TIMEOUT ends them,
    /// counted from the first RTO retransmission (the first one may be a tail-loss probe).
    func retransmissions(_ c: OpenConnection, now: Double, side: Int) -> FailureUnderWay? {
        let tr = c.tracker, me = tr.sides[side], peer = tr.sides[1 - side]
        let times = me.episodeTimes
        guard times.count >= 3, me.rstAt == nil, peer.rstAt == nil, me.unacked(peerAck: peer.ackSent) > 0,
              (peer.lastAt ?? 0) <= times[0] + 0.001 else { return nil }
        var all: [Double] = []
        if let o = me.episodeOriginalAt { all.append(o) }
        all += times
        let offset = all.count - times.count
        var rsIndex = 0
        for i in 0..<times.count {
            let j = i + offset
            guard j >= 1, j + 1 < all.count else { continue }
            if all[j + 1] - all[j] >= 1.6 * (all[j] - all[j - 1]) { rsIndex = i; break }
        }
        let rs = times[rsIndex]
        let firstRTO = rsIndex + 1 < times.count ? (times[rsIndex + 1] - rs) / 2 : max(0.2, rs - (all[max(0, rsIndex + offset - 1)]))
        let who = TCPConnectionTracker.name(side)
        let found = lookup(me.endpoint, peer.endpoint)
        let userTimeout = found.options?.userTimeout ?? 0
        let model = RetransmissionSchedule(firstRTO: max(0.2, firstRTO), retries2: kernel.tcpRetries2, userTimeout: userTimeout,
                                           rtoMax: kernel.rtoMax, hz: kernel.hz)
        let basis = userTimeout > 0
            ? "TCP_USER_TIMEOUT \(DurationText.trimmed(userTimeout)) s read from the socket of \(found.source)"
            : "tcp_retries2 \(kernel.tcpRetries2), the namespace's default"
                + (found.options != nil ? " (no TCP_USER_TIMEOUT on the socket of \(found.source))" : " (the socket's own TCP_USER_TIMEOUT: \(found.source))")
        let giveUp = rs + model.giveUpAt
        let silent = me.episodeOriginalAt ?? times[0]
        let last = times.last!
        let lastInterval = last - (times.count >= 2 ? times[times.count - 2] : silent)
        let nextDue = last + min(120, 2 * lastInterval)
        let summary = "\(times.count) retransmissions from the \(who) unacknowledged: its kernel will give up at"
            + " +\(DurationText.format(giveUp - silent)) after the \(TCPConnectionTracker.name(1 - side)) went silent (ETIMEDOUT, no RST; \(basis)) unless acknowledged"
        let decided = now >= max(giveUp, nextDue) + Self.settleMargin
        return FailureUnderWay(episode: "rto:\(side):\(silent)", kind: "retransmitting", mechanism: model.mechanism, side: side,
                               predictedAt: giveUp, since: silent, summary: summary, basis: basis, decided: decided)
    }

    // MARK: - A close under open HTTP/2 streams

    /// One side's FIN while HTTP/2 streams are open: those streams can no longer complete
    /// (a killed server's kernel sends FIN, or RST), and their clients see an error whenever
    /// the other side gets round to closing. Said at the FIN; the outcome follows at the close.
    func closedUnderStreams(_ c: OpenConnection) -> FailureUnderWay? {
        guard c.openHTTP2Streams > 0 else { return nil }
        let tr = c.tracker
        let fins = [0, 1].compactMap { i in tr.sides[i].finAt.map { (i, $0) } }
        guard let (side, at) = fins.min(by: { $0.1 < $1.1 }), tr.sides[1 - side].finAt == nil else { return nil }
        let who = TCPConnectionTracker.name(side)
        let n = c.openHTTP2Streams
        let summary = "the \(who) closed the connection (FIN) with \(n) HTTP/2 stream\(n == 1 ? "" : "s") open: \(n == 1 ? "it" : "they") cannot complete, \(n == 1 ? "its client sees" : "their clients see") an error"
        return FailureUnderWay(episode: "fin:\(side)", kind: "closed-under-open-streams", mechanism: side == 1 ? .peerFin : .none, side: side,
                               predictedAt: nil, since: at, summary: summary, basis: "", decided: false)
    }
}
