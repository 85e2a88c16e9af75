import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagOutput
import Foundation
import Testing

/// The whole table (with timelines) and JSON document of `analyze` on each fixture capture,
/// checked against the committed expected output in `Golden/` (as tcpdump's test list does),
/// so a change that moves a verdict, a time, a finding or a field fails loudly here.
/// After an intended change: `CONNDIAG_UPDATE_GOLDEN=1 swift test --filter GoldenOutputTests`,
/// then read the diff of `Golden/` before committing it.
@Suite struct GoldenOutputTests {
    static let fixtures = ["syn-blackhole", "keepalive-death", "user-timeout", "grpc-drain", "proxy-reset", "flow-control-stall"]

    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Renders a fixture the way `conndiag analyze FILE --timeline` prints it (no colour)
    /// and as `--format json` writes it, with the file named by its fixture name so the
    /// output does not depend on where the build put the bundle.
    static func rendered(_ name: String) throws -> (table: String, json: String) {
        var result = try Fixture.analyze(name)
        result.files = ["\(name).pcap"]
        let table = AnalyzeTableRenderer(color: false, timelines: true).render(result)
        let settings: [(String, JSONValue)] = [("stall_threshold_s", .double(5)), ("max_connections", .int(10_000)),
                                               ("assumed_tcp_retries2", .int(15))]
        let json = result.report(settings: settings).json().serialized(pretty: true) + "\n"
        return (table, json)
    }

    @Test(arguments: fixtures)
    func matchesGolden(_ name: String) throws {
        let (table, json) = try Self.rendered(name)
        for (suffix, text) in [("table.txt", table), ("json", json)] {
            let url = Self.goldenDirectory.appendingPathComponent("\(name).\(suffix)")
            if ProcessInfo.processInfo.environment["CONNDIAG_UPDATE_GOLDEN"] == "1" {
                try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
                continue
            }
            let expected = try #require(FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) },
                                        "missing golden file \(url.lastPathComponent): CONNDIAG_UPDATE_GOLDEN=1 writes it")
            #expect(text == expected, "\(name).\(suffix) differs from Golden/: \(firstDifference(text, expected))")
        }
    }

    /// The first line that differs, both versions, for a readable failure.
    func firstDifference(_ got: String, _ expected: String) -> String {
        let a = got.split(separator: "\n", omittingEmptySubsequences: false)
        let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<end>", y = i < b.count ? String(b[i]) : "<end>"
            if x != y { return "line \(i + 1):\n  got:      \(x)\n  expected: \(y)" }
        }
        return "same lines"
    }
}
