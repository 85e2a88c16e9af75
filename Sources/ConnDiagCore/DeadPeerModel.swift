/// When the kernel notices a dead peer on an established connection (ARCHITECTURE.md §4), from
/// tcp_keepalive_timer(), tcp_retransmit_timer() and retransmits_timed_out() in
/// net/ipv4/tcp_timer.c. Times are seconds; with `hz` each timer is placed where the
/// timer wheel fires it (`TimerWheel`).

/// Keepalive on an idle connection (nothing unacknowledged).
public struct KeepaliveSchedule: Equatable, Sendable {
    /// Probe times, relative to the last segment received from the peer.
    public var probes: [Double]
    /// When the kernel aborts (sends RST, ETIMEDOUT), relative to the last receive.
    public var abortAt: Double
    /// `.keepalive` when KEEPCNT decides, `.userTimeout` when TCP_USER_TIMEOUT does.
    public var mechanism: Mechanism
    public var nominalAbortAt: Double

    /// - userTimeout: TCP_USER_TIMEOUT in seconds (0 = unset). When set it replaces KEEPCNT:
    ///   the kernel aborts at the first timer firing with idle time >= UT and >= 1 probe sent.
    public init(idle: Double, interval: Double, count: Int, userTimeout: Double = 0, hz: Int? = nil) {
        func walk(_ wheel: TimerWheel?) -> ([Double], Double, Mechanism) {
            var t = 0.0, probes: [Double] = [], aligned: Int? = nil
            func advance(_ d: Double) {
                if let w = wheel { let r = w.delay(d, alignedShift: aligned); t += r.delay; aligned = r.shift } else { t += d }
            }
            advance(idle)
            while probes.count < 10_000 {
                if userTimeout > 0 {
                    if t >= userTimeout - 1e-9 && !probes.isEmpty { return (probes, t, .userTimeout) }
                } else if probes.count >= count {
                    return (probes, t, .keepalive)
                }
                probes.append(t)
                advance(interval)
            }
            return (probes, t, .keepalive)
        }
        let nominal = walk(nil)
        let real = hz.map { walk(TimerWheel(hz: $0)) } ?? nominal
        probes = real.0; abortAt = real.1; mechanism = real.2; nominalAbortAt = nominal.1
    }

    public var formula: String {
        mechanism == .keepalive
            ? "KEEPIDLE + KEEPINTVL x KEEPCNT after the last segment received"
            : "the first probe firing at least TCP_USER_TIMEOUT after the last segment received"
    }
}

/// Retransmission of unacknowledged data to a silent peer.
public struct RetransmissionSchedule: Equatable, Sendable {
    /// RTO retransmission times relative to the first RTO retransmission (rs, at 0).
    public var retransmissions: [Double]
    /// When the kernel gives up, relative to rs.
    public var giveUpAt: Double
    public var mechanism: Mechanism

    /// The kernel's budget for tcp_retries2 = R with the 200 ms base: (2^(R+1) - 1) x 0.2 s
    /// while the doubling stays under TCP_RTO_MAX, then 120 s per retry (tcp_model_timeout).
    public static func retries2Budget(_ r: Int, rtoMin: Double = 0.2, rtoMax: Double = 120) -> Double {
        let boundary = Int((rtoMax / rtoMin).squareRootLog2Floor)
        if r <= boundary { return Double((1 << (r + 1)) - 1) * rtoMin }
        return Double((1 << (boundary + 1)) - 1) * rtoMin + Double(r - boundary) * rtoMax
    }

    /// - firstRTO: the RTO in force when the first RTO retransmission went out (TCP_INFO rto).
    /// - userTimeout: TCP_USER_TIMEOUT in seconds, 0 = unset (tcp_retries2 decides).
    public init(firstRTO: Double, retries2: Int, userTimeout: Double = 0, rtoMax: Double = 120, hz: Int? = nil) {
        let budget = userTimeout > 0 ? userTimeout : RetransmissionSchedule.retries2Budget(retries2, rtoMax: rtoMax)
        var t = 0.0, rto = firstRTO, times = [0.0]
        let wheel = hz.map { TimerWheel(hz: $0) }
        var aligned: Int? = nil
        while times.count < 10_000 {
            rto = min(rto * 2, rtoMax)
            var next = rto
            // With TCP_USER_TIMEOUT the kernel clamps the RTO so the timer fires at rs + UT.
            if userTimeout > 0 { next = min(next, max(0, budget - t)) }
            if let w = wheel { let r = w.delay(next, alignedShift: aligned); next = r.delay; aligned = r.shift }
            t += next
            if t >= budget - 1e-9 { break }
            times.append(t)
        }
        retransmissions = times
        giveUpAt = t
        mechanism = userTimeout > 0 ? .userTimeout : .retransmissionLimit
    }
}

/// gRPC-style HTTP/2 keepalive (proposal A8): a PING `pingTime` after the last read,
/// closed when its ACK has not come `pingTimeout` later.
public struct H2PingSchedule: Equatable, Sendable {
    public var pingAt: Double
    public var timeoutAt: Double
    public init(lastRead: Double, pingTime: Double, pingTimeout: Double) {
        pingAt = lastRead + pingTime
        timeoutAt = pingAt + pingTimeout
    }
}

extension Double {
    /// floor(log2(self)) for the RTO doubling boundary (120 / 0.2 = 600 -> 9).
    var squareRootLog2Floor: Double {
        var n = 0.0, v = self
        while v >= 2 { v /= 2; n += 1 }
        return n
    }
}
