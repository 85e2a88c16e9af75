import ArgumentParser
import ConnDiagCore
import ConnDiagLab
import ConnDiagScenarios
import ConnDiagTCP
import Foundation
import Glibc

extension ConnDiag {
    struct LabCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lab",
            abstract: "Reproduce every classic connection failure on this machine, with the kernel's predictions.",
            discussion: """
            Each scenario runs in a fresh pair of network namespaces with real peers (Python \
            echo and grpcio servers, nghttpd, nghttpx), injects its fault with iptables inside \
            the lab only, and is measured by the same engines as the subcommands. The matrix \
            shows the mechanism that detected the failure, the observed and predicted times, \
            the deviation and a one-line lesson. Needs root (namespaces); exits 3 without.

            EXAMPLES:
              conndiag lab --quick
              conndiag lab keepalive-short unacked-user-timeout
              conndiag lab --list
              conndiag lab --quick --format json
            """)

        @Argument(help: "Scenario ids (default: all). See --list.")
        var scenarios: [String] = []

        @Flag(name: .long, help: "Describe each scenario and exit.")
        var list = false

        @Flag(name: .long, help: "Keep the whole matrix under a minute: long scenarios are shortened through their settings or only predicted, and say so.")
        var quick = false

        @Option(name: .long, help: "Scenarios run at once, each in its own lab.")
        var parallel: Int = 4

        @OptionGroup(title: "Output") var output: OutputOptions

        func validate() throws {
            let known = Set(ScenarioCatalog.all.map(\.id))
            for s in scenarios where !known.contains(s) {
                throw ValidationError("unknown scenario '\(s)' (see conndiag lab --list)")
            }
            if parallel < 1 || parallel > 16 { throw ValidationError("--parallel must be between 1 and 16") }
        }

        func run() throws {
            let chosen = scenarios.isEmpty ? ScenarioCatalog.all : ScenarioCatalog.all.filter { scenarios.contains($0.id) }
            if list {
                for s in chosen {
                    ReportOutput.write("\(s.id.padding(toLength: 30, withPad: " ", startingAt: 0)) [\(s.group)] \(s.title)\n    settings: \(s.settings); expects \(s.expected.rawValue)" + (s.quickNote.map { "; --quick: \($0)" } ?? "") + "\n    \(s.lesson)\n")
                }
                return
            }
            try Lab.requireRights()
            InterruptSignal.shared.install()
            Lab.sweepStale(prefix: "cdlab")
            let out = ReportOutput(output)
            let runner = ScenarioRunner(scenarios: chosen, quick: quick, parallelism: parallel)
            let tty = isatty(STDERR_FILENO) != 0
            if tty {
                FileHandle.standardError.write(Data("conndiag lab: \(chosen.count) scenarios, about \(Int(runner.estimatedSeconds.rounded(.up))) s\(quick ? " (--quick)" : "")\n".utf8))
            }
            var done = 0
            runner.onRow = { row in
                done += 1
                if out.format == .ndjson {
                    var line = row.json
                    if case .object(var p) = line { p.insert(("type", .string("scenario")), at: 0); line = .object(p) }
                    ReportOutput.write(line.serialized() + "\n")
                }
                if tty { FileHandle.standardError.write(Data("  [\(done)/\(chosen.count)] \(row.scenario.id) \(row.passed ? "ok" : "FAILED")\n".utf8)) }
            }
            let (rows, interrupted) = runner.run()
            let passed = rows.filter(\.passed).count
            let summary = "\(rows.count) of \(chosen.count) scenarios ran, \(passed) as predicted" + (interrupted ? " (interrupted)" : "")
            let outcome = Outcome(status: passed == chosen.count && !interrupted ? .survived : .error, mechanism: .none, summary: summary)
            let report = Report(command: "lab", target: nil, settings: [("quick", .bool(quick)), ("parallel", .int(Int64(parallel)))],
                                kernel: KernelSettings.read(), capture: true, attempts: [], outcome: outcome, interrupted: interrupted,
                                extras: [("scenarios", .array(rows.map(\.json)))])
            switch out.format {
            case .table: ReportOutput.write(MatrixRenderer.render(rows, summary: summary, quick: quick))
            case .json: ReportOutput.write(report.json(includeEvents: false).serialized(pretty: true) + "\n")
            case .ndjson:
                var doc = report.json(includeEvents: false)
                if case .object(var p) = doc { p.removeAll { $0.0 == "scenarios" }; p.insert(("type", .string("summary")), at: 0); doc = .object(p) }
                ReportOutput.write(doc.serialized() + "\n")
            }
            if passed != chosen.count || interrupted { throw ExitCode(ExitStatus.failureObserved.rawValue) }
        }
    }
}

/// The lab matrix as a table.
enum MatrixRenderer {
    static func render(_ rows: [ScenarioRow], summary: String, quick: Bool) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func t(_ v: Double?) -> String { v.map { DurationText.elapsed($0) } ?? "-" }
        var out = pad("  scenario", 31) + pad("mechanism", 24) + pad("observed", 12) + pad("predicted", 13) + pad("deviation", 11) + "lesson\n"
        for r in rows {
            let mech = r.result.map { $0.outcome.mechanism.rawValue } ?? "error"
            let obs = r.result?.predictedOnly == true ? "(predicted)" : t(r.result?.observed)
            let dev = r.deviation.map { ($0 >= 0 ? "+" : "") + DurationText.trimmed(($0 * 1000).rounded()) + " ms" } ?? "-"
            out += pad((r.passed ? "  " : "✗ ") + r.scenario.id, 31) + pad(mech, 24) + pad(obs, 12) + pad(t(r.result?.predicted), 13) + pad(dev, 11) + r.scenario.lesson + "\n"
            if let e = r.error { out += "    error: \(e)\n" }
            if quick, let n = r.scenario.quickNote { out += "    --quick: \(n)\n" }
        }
        return out + summary + "\n"
    }
}
