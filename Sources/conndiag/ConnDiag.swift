import ArgumentParser
import ConnDiagCore
import ConnDiagOutput
import Glibc

/// conndiag: my connection died — when, how, and which mechanism noticed?
struct ConnDiag: ParsableCommand {
    /// Defined once, in the package's VERSION file (Plugins/BuildInfo).
    static let version = BuildInfo.version

    static let configuration = CommandConfiguration(
        commandName: "conndiag",
        abstract: "Find out when a TCP or HTTP/2 connection died, how, and which mechanism noticed.",
        discussion: """
        conndiag opens real connections with the socket options you run in production, watches \
        the wire with libpcap and prints a timeline of every SYN, retransmission, probe and \
        error beside what the kernel's settings predicted.

        EXAMPLES:
          conndiag syn-timeout 10.0.0.7:443 --syncnt 2
          conndiag syn-timeout --lab                  # built-in targets, no setup
          conndiag keepalive-test db:5432 --keepalive --keepidle 15 --keepintvl 15 --keepcnt 5 --user-timeout 90s
          conndiag keepalive-test --lab --cut-after 1s --keepalive --keepidle 2 --keepintvl 1 --keepcnt 3

        EXIT CODES:
          0  the run completed and every --expect held (or, with none, the target was healthy)
          1  a failure was observed, or an --expect did not hold
          2  bad usage: wrong flags, unparsable target, unknown host
          3  the environment refused something (no namespace rights, capture impossible)
          4  bad input data (a malformed capture file)
        """,
        version: VersionReport.text,
        subcommands: [SynTimeout.self, KeepaliveTest.self, GoawayTrace.self, Probe.self, Analyze.self, Inspect.self, Watch.self, LabCommand.self]
    )
}

/// Runs the command line with conndiag's exit codes: usage errors exit 2 (not
/// ArgumentParser's 64), ConnDiagError exits with its own code and one line on stderr.
@main
enum Main {
    static func main() {
        do {
            var command = try ConnDiag.parseAsRoot()
            try command.run()
        } catch let e as ConnDiagError {
            StandardOutput.note(e.message)
            exit(e.exitStatus.rawValue)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            let code = ConnDiag.exitCode(for: error)
            if code == .success || code.rawValue == 0 {
                ConnDiag.exit(withError: error)  // --help, --version
            }
            // One line: the message without ArgumentParser's usage block (--help has that).
            var message = ConnDiag.message(for: error)
            if message.hasPrefix("Error: ") { message.removeFirst(7) }
            let first = message.split(separator: "\n").first.map(String.init) ?? message
            StandardOutput.note(first)
            exit(code == .validationFailure ? ExitStatus.usage.rawValue : code.rawValue)
        }
    }
}
