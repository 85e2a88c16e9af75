import Glibc
import Synchronization

/// The TCP sysctls that decide when the kernel gives up, read at run time from /proc/sys of
/// the network namespace the reading thread is in (most net.ipv4.tcp_* are per namespace).
public struct KernelSettings: Sendable {
    public var release: String
    public var tcpSynRetries: Int
    /// nil on kernels before 6.7, which retransmit SYNs exponentially from the start.
    public var tcpSynLinearTimeouts: Int?
    public var tcpRetries1: Int
    public var tcpRetries2: Int
    public var tcpKeepaliveTime: Int
    public var tcpKeepaliveIntvl: Int
    public var tcpKeepaliveProbes: Int
    /// nil before the sysctl existed; the compiled-in maximum RTO is then 120 s.
    public var tcpRTOMaxMs: Int?
    public var tcpFinTimeout: Int
    /// The kernel's timer frequency (CONFIG_HZ), from the coarse clock's resolution or else
    /// /proc/timer_list; nil when neither gives it. Retransmission timers are rounded to the
    /// timer wheel's granularity in jiffies, so HZ decides how late each one fires.
    public var hz: Int?

    public init(release: String = "", tcpSynRetries: Int = 6, tcpSynLinearTimeouts: Int? = 4,
                tcpRetries1: Int = 3, tcpRetries2: Int = 15, tcpKeepaliveTime: Int = 7200,
                tcpKeepaliveIntvl: Int = 75, tcpKeepaliveProbes: Int = 9, tcpRTOMaxMs: Int? = 120_000,
                tcpFinTimeout: Int = 60) {
        self.release = release; self.tcpSynRetries = tcpSynRetries
        self.tcpSynLinearTimeouts = tcpSynLinearTimeouts; self.tcpRetries1 = tcpRetries1
        self.tcpRetries2 = tcpRetries2; self.tcpKeepaliveTime = tcpKeepaliveTime
        self.tcpKeepaliveIntvl = tcpKeepaliveIntvl; self.tcpKeepaliveProbes = tcpKeepaliveProbes
        self.tcpRTOMaxMs = tcpRTOMaxMs; self.tcpFinTimeout = tcpFinTimeout
    }

    /// Reads the sysctls under `root` (default /proc/sys). Missing optional ones stay nil;
    /// a missing mandatory one keeps the kernel's compiled-in default.
    public static func read(root: String = "/proc/sys") -> KernelSettings {
        func value(_ name: String) -> Int? {
            guard let text = readSmallFile(root + "/net/ipv4/" + name) else { return nil }
            return Int(text.trimmingSpaces().split(separator: "\n").first.map(String.init) ?? "")
        }
        var k = KernelSettings()
        var u = utsname()
        uname(&u)
        k.release = withUnsafeBytes(of: &u.release) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        k.tcpSynRetries = value("tcp_syn_retries") ?? 6
        k.tcpSynLinearTimeouts = value("tcp_syn_linear_timeouts")
        k.tcpRetries1 = value("tcp_retries1") ?? 3
        k.tcpRetries2 = value("tcp_retries2") ?? 15
        k.tcpKeepaliveTime = value("tcp_keepalive_time") ?? 7200
        k.tcpKeepaliveIntvl = value("tcp_keepalive_intvl") ?? 75
        k.tcpKeepaliveProbes = value("tcp_keepalive_probes") ?? 9
        k.tcpRTOMaxMs = value("tcp_rto_max_ms")
        k.tcpFinTimeout = value("tcp_fin_timeout") ?? 60
        k.hz = measureHZ()
        return k
    }

    static let cachedHZ = Mutex<Int??>(nil)

    /// The CONFIG_HZ values a kernel can be built with.
    static let hzChoices = [100, 250, 300, 1000]

    /// The kernel's HZ, found once per process: from the coarse clock without waiting, else
    /// by counting jiffies in /proc/timer_list (which costs 100 ms).
    public static func measureHZ() -> Int? {
        if let c = cachedHZ.withLock({ $0 }) { return c }
        let hz = hzFromCoarseClock() ?? hzFromTimerList()
        cachedHZ.withLock { $0 = .some(hz) }
        return hz
    }

    /// CLOCK_MONOTONIC_COARSE advances once per jiffy, so its resolution is NSEC_PER_SEC/HZ
    /// (4,000,000 ns at HZ=250), in one vDSO call. nil when the answer is not a CONFIG_HZ
    /// choice, so an unexpected clock never passes for a timer frequency.
    public static func hzFromCoarseClock() -> Int? {
        var resolution = timespec()
        guard clock_getres(CLOCK_MONOTONIC_COARSE, &resolution) == 0,
              resolution.tv_sec == 0, resolution.tv_nsec > 0 else { return nil }
        let hz = Int((1e9 / Double(resolution.tv_nsec)).rounded())
        return hzChoices.contains(hz) ? hz : nil
    }

    /// Counts jiffies in /proc/timer_list across `intervalMicros` and snaps to the nearest
    /// CONFIG_HZ choice; nil when the file is unreadable (it is root-only on most systems).
    public static func hzFromTimerList(intervalMicros: UInt32 = 100_000) -> Int? {
        func sample() -> (nanos: Int64, jiffies: UInt64)? {
            let t = RunClock.nanos(CLOCK_MONOTONIC)
            guard let text = readSmallFile("/proc/timer_list", limit: 8192),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("jiffies:") }),
                  let j = UInt64(line.dropFirst(8).trimmingPrefixSpaces()) else { return nil }
            return (t, j)
        }
        guard let a = sample() else { return nil }
        usleep(intervalMicros)
        guard let b = sample(), b.nanos > a.nanos else { return nil }
        let measured = Double(b.jiffies &- a.jiffies) / (Double(b.nanos - a.nanos) / 1e9)
        return hzChoices.min { abs(Double($0) - measured) < abs(Double($1) - measured) }
    }

    /// The maximum RTO in seconds (the sysctl, or the compiled-in TCP_RTO_MAX).
    public var rtoMax: Double { Double(tcpRTOMaxMs ?? 120_000) / 1000 }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("release", release)
        b.add("tcp_syn_retries", tcpSynRetries)
        b.add("tcp_syn_linear_timeouts", tcpSynLinearTimeouts.map { JSONValue.int(Int64($0)) } ?? .null)
        b.add("tcp_retries1", tcpRetries1)
        b.add("tcp_retries2", tcpRetries2)
        b.add("tcp_keepalive_time", tcpKeepaliveTime)
        b.add("tcp_keepalive_intvl", tcpKeepaliveIntvl)
        b.add("tcp_keepalive_probes", tcpKeepaliveProbes)
        b.add("tcp_rto_max_ms", tcpRTOMaxMs.map { JSONValue.int(Int64($0)) } ?? .null)
        b.add("tcp_fin_timeout", tcpFinTimeout)
        b.add("hz", hz.map { JSONValue.int(Int64($0)) } ?? .null)
        return b.value
    }
}

/// Reads a small text file (sysctl, /proc entry) with plain syscalls.
public func readSmallFile(_ path: String, limit: Int = 65536) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: limit)
    var total = 0
    while total < limit {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, limit - total) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        total += n
    }
    return String(decoding: buffer[..<total], as: UTF8.self)
}
