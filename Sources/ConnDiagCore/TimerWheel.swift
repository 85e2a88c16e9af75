/// How late the Linux timer wheel fires a timer (kernel/time/timer.c, calc_wheel_index):
/// a timer due in `delta` jiffies lands in level n (granularity 8^n jiffies) and fires at
/// the next bucket boundary after its expiry. A timer re-armed from a firing aligned to its
/// level's granularity therefore fires after exactly ((delta >> shift) + 1) << shift jiffies:
/// at HZ=250 a 1 s RTO becomes 1.024 s and a 2 s RTO 2.016 s.
public struct TimerWheel: Sendable, Equatable {
    public var hz: Int
    public init(hz: Int) { self.hz = hz }

    /// log2 of the granularity (in jiffies) of the level a timer `delta` jiffies away lands in.
    public static func levelShift(forDelta delta: Int) -> Int {
        // LVL_START(n) = 63 << ((n - 1) * 3): 63, 504, 4032, 32256, ...
        var level = 0
        while level < 8 && delta >= (63 << (level * 3)) { level += 1 }
        return level * 3
    }

    public func jiffies(_ seconds: Double) -> Int { Int((seconds * Double(hz)).rounded()) }
    public func seconds(_ jiffies: Double) -> Double { jiffies / Double(hz) }

    /// Expected delay of a timer armed for `seconds`, and the granularity shift it used.
    /// When the arming moment is aligned to that granularity (`alignedShift >= shift`,
    /// a timer re-armed from its own firing) the delay is exact; otherwise the bucket
    /// boundary falls anywhere in one granule, and half a granule is the expectation.
    public func delay(_ seconds: Double, alignedShift: Int?) -> (delay: Double, shift: Int, exact: Bool) {
        let d = jiffies(seconds)
        let shift = TimerWheel.levelShift(forDelta: d)
        let gran = 1 << shift
        if let a = alignedShift, a >= shift {
            return (self.seconds(Double(((d >> shift) + 1) << shift)), shift, true)
        }
        return (self.seconds(Double(d) + Double(gran) / 2 + 0.5), shift, false)
    }
}
