/// Count, min, max and median of a stream of samples (PING RTTs) in bounded memory: exact up
/// to `capacity` samples, then the median comes from a uniform reservoir of that many
/// (Vitter's algorithm R, with a fixed-seed generator so runs are repeatable). A PING every
/// 10 ms for an hour is 360,000 samples; keeping them all would grow without bound.
public struct SampleSummary: Sendable {
    public let capacity: Int
    public private(set) var count = 0
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity
    private var reservoir: [Double] = []
    private var rng: UInt64 = 0x9E37_79B9_7F4A_7C15

    public init(capacity: Int = 4096) { self.capacity = Swift.max(1, capacity) }

    public var isEmpty: Bool { count == 0 }
    /// True while every sample is still held (the median is exact).
    public var isExact: Bool { count <= capacity }

    public mutating func add(_ x: Double) {
        count += 1
        if x < min { min = x }
        if x > max { max = x }
        if reservoir.count < capacity {
            reservoir.append(x)
        } else {
            let j = Int(next() % UInt64(count))
            if j < capacity { reservoir[j] = x }
        }
    }

    /// The upper median of the held samples (as `sorted[n / 2]`).
    public var median: Double? {
        guard !reservoir.isEmpty else { return nil }
        let s = reservoir.sorted()
        return s[s.count / 2]
    }

    private mutating func next() -> UInt64 {
        // splitmix64
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SampleSummary {
    /// Adds `<prefix>_min_ms`, `_median_ms`, `_max_ms` (and how many samples the median came
    /// from once past capacity) for samples in seconds; nothing when there are none.
    public func addMilliseconds(to b: inout JSONObjectBuilder, prefix: String) {
        guard let median else { return }
        b.add("\(prefix)_min_ms", (min * 1e6).rounded() / 1e3)
        b.add("\(prefix)_median_ms", (median * 1e6).rounded() / 1e3)
        b.add("\(prefix)_max_ms", (max * 1e6).rounded() / 1e3)
        if !isExact { b.add("\(prefix)_median_from_samples", capacity) }
    }
}
