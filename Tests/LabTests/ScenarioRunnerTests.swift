import Foundation
import Glibc
import Testing
import ConnDiagCore
import ConnDiagScenarios

/// The lab matrix's lanes are threads; `conndiag lab` counts finished rows and writes NDJSON
/// lines from `onRow` without a lock of its own. ThreadSanitizer (`make test-sanitized`)
/// found those calls overlapping; the runner now serialises them.
struct ScenarioRunnerTests {
    static func scenario(_ i: Int) -> Scenario {
        Scenario(id: "fake-\(i)", group: 0, title: "fake", settings: "", expected: .none, tolerance: 1, lesson: "",
                 seconds: (full: 0.01, quick: 0.01)) { _ in
            usleep(UInt32(1_000 * (i % 3)))
            return ScenarioResult(outcome: Outcome(status: .survived, mechanism: .none, summary: "ok"), observed: nil, predicted: nil)
        }
    }

    @Test func onRowCallsNeverOverlap() {
        let n = 40
        let runner = ScenarioRunner(scenarios: (0..<n).map(Self.scenario), quick: true, parallelism: 4)
        // Deliberately unsynchronised, as in the CLI: only the runner's guarantee makes it safe.
        var seen: [String] = []
        var inside = 0, overlaps = 0
        runner.onRow = { row in
            inside += 1
            if inside > 1 { overlaps += 1 }
            usleep(200)
            seen.append(row.scenario.id)
            inside -= 1
        }
        let (rows, interrupted) = runner.run()
        #expect(!interrupted)
        #expect(rows.count == n)
        #expect(overlaps == 0)
        #expect(Set(seen) == Set((0..<n).map { "fake-\($0)" }))
    }
}
