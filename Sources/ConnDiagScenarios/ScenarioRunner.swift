import Glibc
import ConnDiagCore
import ConnDiagTCP
import ConnDiagPlatform

/// Runs scenarios a few at a time (each in its own lab: namespaces, peers and timers do not
/// interfere), reports each row as it finishes, and stops starting new ones on SIGINT.
public final class ScenarioRunner {
    public let scenarios: [Scenario]
    public let quick: Bool
    public let parallelism: Int
    /// Called as each scenario finishes, from the lane that ran it; calls never overlap
    /// (the callback may count rows and write to stdout without a lock of its own).
    public var onRow: ((ScenarioRow) -> Void)?

    public init(scenarios: [Scenario], quick: Bool, parallelism: Int = 4) {
        self.scenarios = scenarios
        self.quick = quick
        self.parallelism = max(1, parallelism)
    }

    /// Nominal time of the matrix (sum of the scenarios run in parallel lanes).
    public var estimatedSeconds: Double {
        let times = scenarios.map { quick ? $0.seconds.quick : $0.seconds.full }.sorted(by: >)
        var lanes = [Double](repeating: 0, count: parallelism)
        for t in times { let i = lanes.indices.min { lanes[$0] < lanes[$1] }!; lanes[i] += t + 0.5 }
        return lanes.max() ?? 0
    }

    public func run() -> (rows: [ScenarioRow], interrupted: Bool) {
        let lock = ConditionLock()
        let reporting = ConditionLock()
        var rows = [ScenarioRow?](repeating: nil, count: scenarios.count)
        var next = 0
        // Lanes still running, behind a condition variable rather than a DispatchGroup: this
        // thread waits in pthread_cond_wait, where a SIGINT routed to it is handled at once
        // also under ThreadSanitizer (which defers handlers until the thread enters a call it
        // intercepts, and libdispatch's wait is not one: `lab` then ignored Ctrl-C until the
        // whole matrix had run).
        let finished = ConditionLock()
        var running = 0
        for _ in 0..<min(parallelism, scenarios.count) {
            // A thread per lane, not per scenario: the engines block in poll() and enter
            // namespaces per thread, so they want threads of their own.
            let lane = { [self] in
                while true {
                    lock.lock()
                    if next >= scenarios.count || InterruptSignal.shared.isRaised { lock.unlock(); break }
                    let i = next; next += 1
                    lock.unlock()
                    let s = scenarios[i]
                    let start = RunClock.nanos(CLOCK_MONOTONIC)
                    var row = ScenarioRow(scenario: s, result: nil, error: nil, elapsed: 0)
                    do { row.result = try s.run(quick) } catch { row.error = (error as? ConnDiagError)?.message ?? "\(error)" }
                    row.elapsed = Double(RunClock.nanos(CLOCK_MONOTONIC) - start) / 1e9
                    lock.lock(); rows[i] = row; lock.unlock()
                    reporting.lock(); onRow?(row); reporting.unlock()
                }
                finished.lock(); running -= 1; finished.signal(); finished.unlock()
            }
            finished.lock(); running += 1; finished.unlock()
            // No thread to spare: this thread runs the lane itself.
            do { try DetachedThread.start(stackSize: 1 << 21, lane) } catch { lane() }
        }
        finished.lock()
        while running > 0 { finished.wait() }
        finished.unlock()
        return (rows.compactMap { $0 }, InterruptSignal.shared.isRaised)
    }
}
