import ConnDiagCore

/// When the kernel gives up on a peer whose receive window is zero, if from the sample on no
/// probe is answered (the peer vanished). Linux `tcp_probe_timer` (RFC 9293 §3.8.6.1: the
/// sender keeps probing a zero window for as long as the receiver answers):
/// - at each firing the kernel aborts when `icsk_probes_out >= tcp_retries2`, or with
///   TCP_USER_TIMEOUT when UT has passed since the first probe firing of the episode
///   (`icsk_probes_tstamp`, not reset by answered probes: a zero window dies by UT even while
///   the peer answers);
/// - else it sends a probe, probes_out += 1, backoff += 1 while < tcp_retries2, and re-arms
///   for min(max(RTO, 200 ms) << backoff, TCP_RTO_MAX), clamped so the timer fires at the
///   UT deadline (`tcp_clamp_probe0_to_user_timeout`).
/// An answered probe resets probes_out to 0 but not the backoff, so a peer that stopped
/// reading long ago is probed minutes apart and found dead late.
public struct ZeroWindowProbeSchedule: Sendable, Equatable {
    /// Firings from the sample on (seconds after it): probes sent, the last one the abort.
    public var firings: [Double]
    /// Seconds after the sample when the kernel gives up (ETIMEDOUT, no RST is sent).
    public var giveUpAt: Double
    public var mechanism: Mechanism
    /// Probes still to go out unanswered before the abort.
    public var probesLeft: Int

    /// - expires: idiag_expires of the armed probe timer (s); probesOut, backoff: tcp_info's
    ///   probes and backoff; rto: tcp_info's RTO (s); userTimeout: s, 0 = unset.
    /// - sinceFirstProbe: seconds since the episode's first firing, nil to estimate it from
    ///   the backoff (each firing doubled the interval from the base).
    public init(expires: Double, probesOut: Int, backoff: Int, rto: Double, retries2: Int, userTimeout: Double = 0,
                sinceFirstProbe: Double? = nil, rtoMax: Double = 120, hz: Int? = nil) {
        let base = max(rto, 0.2)
        let wheel = hz.map { TimerWheel(hz: $0) }
        func timeout(_ b: Int) -> Double { min(base * Double(1 << min(b, 30)), rtoMax) }
        // The armed timer was requested for timeout(backoff) at its arming; it fires late by
        // the wheel's lateness for that delay.
        var t = expires
        if let w = wheel, backoff > 0 { t += max(0, w.delay(timeout(backoff), alignedShift: nil).delay - timeout(backoff)) }
        // The episode's first firing relative to the sample (nil: the next firing is the first).
        var firstFiring: Double? = sinceFirstProbe.map { -$0 }
        if firstFiring == nil && backoff > 0 {
            var since = timeout(backoff) - expires
            if backoff >= 2 { for i in 1..<backoff { since += timeout(i) } }
            firstFiring = -since
        }
        var probes = probesOut, b = backoff, sent = 0
        var firings: [Double] = []
        var mechanism = Mechanism.retransmissionLimit
        var aligned: Int? = nil
        while firings.count < 10_000 {
            if firstFiring == nil { firstFiring = t }
            if userTimeout > 0, let f = firstFiring, t - f >= userTimeout - 1e-9 { mechanism = .userTimeout; break }
            if probes >= retries2 { break }
            firings.append(t)
            probes += 1; sent += 1
            if b < retries2 { b += 1 }
            var next = timeout(b)
            if userTimeout > 0, let f = firstFiring { next = min(next, max(userTimeout - (t - f), 0.002)) }
            if let w = wheel { let r = w.delay(next, alignedShift: aligned); next = r.delay; aligned = r.shift }
            t += next
        }
        self.firings = firings + [t]
        giveUpAt = t
        self.mechanism = mechanism
        probesLeft = sent
    }
}
