import ArgumentParser
import ConnDiagCore
import ConnDiagLab
import ConnDiagOutput
import ConnDiagScenarios
import ConnDiagTCP
import Glibc
import ConnDiagPlatform

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
                StandardOutput.write(ScenarioListRenderer.render(chosen))
                return
            }
            try Lab.requireRights()
            InterruptSignal.shared.install()
            Lab.sweepStale(prefix: "cdlab")
            let writer = ReportWriter(output.configuration)
            let runner = ScenarioRunner(scenarios: chosen, quick: quick, parallelism: parallel)
            let tty = isatty(STDERR_FILENO) != 0
            if tty {
                StandardOutput.writeError("conndiag lab: \(chosen.count) scenarios, about \(Int(runner.estimatedSeconds.rounded(.up))) s\(quick ? " (--quick)" : "")\n")
            }
            var done = 0
            runner.onRow = { row in
                done += 1
                writer.stream(.scenario(row))
                if tty { StandardOutput.writeError("  [\(done)/\(chosen.count)] \(row.scenario.id) \(row.passed ? "ok" : "FAILED")\n") }
            }
            let (rows, interrupted) = runner.run()
            let passed = rows.filter(\.passed).count
            let summary = "\(rows.count) of \(chosen.count) scenarios ran, \(passed) as predicted" + (interrupted ? " (interrupted)" : "")
            let outcome = Outcome(status: passed == chosen.count && !interrupted ? .survived : .error, mechanism: .none, summary: summary)
            let report = Report(command: "lab", target: nil, settings: [("quick", .bool(quick)), ("parallel", .int(Int64(parallel)))],
                                kernel: KernelSettings.read(), capture: true, attempts: [], outcome: outcome, interrupted: interrupted,
                                extras: [("scenarios", .array(rows.map(\.json)))])
            let status = writer.finish(.lab(rows, report: report, quick: quick))
            if status != .ok { throw ExitCode(status.rawValue) }
        }
    }
}
