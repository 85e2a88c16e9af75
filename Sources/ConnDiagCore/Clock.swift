import Glibc

/// The run's clock: one monotonic origin for socket/app events, plus the wall-clock time of
/// that origin so pcap timestamps (CLOCK_REALTIME) map onto the same axis.
public struct RunClock: Sendable {
    public let monotonicOriginNanos: Int64
    public let realtimeOriginNanos: Int64

    public init() {
        // Read both clocks back to back; the skew between the two reads is well under 1 µs.
        monotonicOriginNanos = RunClock.nanos(CLOCK_MONOTONIC)
        realtimeOriginNanos = RunClock.nanos(CLOCK_REALTIME)
    }

    public static func nanos(_ id: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Seconds since the origin, now.
    public func now() -> Double { Double(RunClock.nanos(CLOCK_MONOTONIC) - monotonicOriginNanos) / 1e9 }

    /// Seconds since the origin for a wall-clock timestamp (a pcap packet).
    public func fromRealtime(nanos: Int64) -> Double { Double(nanos - realtimeOriginNanos) / 1e9 }
}
