/// The kernel's SYN retransmission schedule (ARCHITECTURE.md §4), from tcp_write_timeout() and
/// tcp_retransmit_timer() in net/ipv4/tcp_timer.c:
/// - N = TCP_SYNCNT or tcp_syn_retries; L = tcp_syn_linear_timeouts (0 before 6.7);
/// - the first L+1 retransmissions are one initial RTO (1 s) apart, then the RTO doubles up
///   to rto_max;
/// - at every timer firing the kernel gives up if it has already retransmitted N+L times
///   or if (2^(N+1) - 1) s have passed since the first SYN.
/// With `hz` known, each timer is placed where the timer wheel really fires it
/// (`TimerWheel`), so predictions match the wire to a few milliseconds.
public struct SYNSchedule: Equatable, Sendable {
    /// Times of every SYN, first one at 0.
    public var synTimes: [Double]
    /// When connect() fails with ETIMEDOUT, relative to the first SYN.
    public var giveUpAt: Double
    /// The same schedule without timer-wheel rounding (the textbook numbers).
    public var nominalSynTimes: [Double]
    public var nominalGiveUpAt: Double
    public var syncnt: Int
    public var linearTimeouts: Int
    public var hz: Int?

    public init(syncnt: Int, linearTimeouts: Int, initialRTO: Double = 1.0, rtoMax: Double = 120, hz: Int? = nil) {
        self.syncnt = syncnt
        self.linearTimeouts = linearTimeouts
        self.hz = hz
        let nominal = SYNSchedule.walk(syncnt: syncnt, linear: linearTimeouts, initialRTO: initialRTO, rtoMax: rtoMax, wheel: nil)
        nominalSynTimes = nominal.times
        nominalGiveUpAt = nominal.giveUp
        if let hz {
            let real = SYNSchedule.walk(syncnt: syncnt, linear: linearTimeouts, initialRTO: initialRTO, rtoMax: rtoMax, wheel: TimerWheel(hz: hz))
            synTimes = real.times
            giveUpAt = real.giveUp
        } else {
            synTimes = nominal.times
            giveUpAt = nominal.giveUp
        }
    }

    static func walk(syncnt: Int, linear: Int, initialRTO: Double, rtoMax: Double, wheel: TimerWheel?) -> (times: [Double], giveUp: Double) {
        let maxRetransmissions = syncnt + linear
        let timeLimit = Double((1 << (min(syncnt, 40) + 1)) - 1) * initialRTO
        var times = [0.0]
        var t = 0.0
        var rto = initialRTO
        var retransmissions = 0
        var aligned: Int? = nil   // the first timer is armed mid-jiffy at connect()
        while true {
            if let wheel {
                let d = wheel.delay(rto, alignedShift: aligned)
                t += d.delay
                aligned = d.shift
            } else {
                t += rto
            }
            if retransmissions >= maxRetransmissions || t >= timeLimit - 1e-9 { break }
            retransmissions += 1
            times.append(t)
            // The RTO stays at its initial value while retransmits <= L, then doubles.
            if retransmissions > linear { rto = min(rto * 2, rtoMax) }
        }
        return (times, t)
    }

    /// How much of the prediction is timer-wheel lateness (0 without hz).
    public var wheelLateness: Double { giveUpAt - nominalGiveUpAt }

    /// A one-line description for the verdict.
    public var formula: String {
        let linear = linearTimeouts > 0
            ? "first \(linearTimeouts + 1) retransmissions 1 s apart (tcp_syn_linear_timeouts=\(linearTimeouts)), then doubling"
            : "RTO doubling from 1 s"
        return "\(synTimes.count) SYNs, \(linear), give up at \(DurationText.trimmed(nominalGiveUpAt)) s (syncnt \(syncnt))"
    }

    /// Why the prediction is not the textbook number.
    public var wheelNote: String? {
        guard let hz, wheelLateness > 0.0005 else { return nil }
        return "the timer wheel at HZ=\(hz) fires each retransmission timer on a bucket boundary (a 1 s RTO fires after \(DurationText.trimmed(TimerWheel(hz: hz).delay(1, alignedShift: 9).delay * 1000)) ms), adding \(DurationText.trimmed(wheelLateness * 1000)) ms in all"
    }
}
