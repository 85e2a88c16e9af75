import Foundation
import Testing

/// Bad usage exits 2 with nothing on stdout and exactly one line on stderr that starts with
/// "conndiag: " and names what was wrong. None of these reach the network.
@Suite("Usage errors exit 2")
struct UsageErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var args: [String]
        /// A word the first stderr line must contain (what was wrong).
        var mentions: String
        var testDescription: String { args.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(args: ["syn-timeout", "127.0.0.1:0"], mentions: "port"),
        Case(args: ["syn-timeout", "127.0.0.1:70000"], mentions: "port"),
        Case(args: ["syn-timeout", "127.0.0.1:abc"], mentions: "port"),
        Case(args: ["syn-timeout", "127.0.0.1"], mentions: "port"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--syncnt", "0"], mentions: "--syncnt"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--syncnt", "256"], mentions: "--syncnt"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--connect-timeout", "-1s"], mentions: "--connect-timeout"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--connect-timeout=-1s"], mentions: "--connect-timeout"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--connect-timeout", "5x"], mentions: "--connect-timeout"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "-4", "-6"], mentions: "-6"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--json", "--format", "table"], mentions: "--json"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--format", "xml"], mentions: "--format"),
        Case(args: ["syn-timeout", "::1:80"], mentions: "IPv6"),
        Case(args: ["syn-timeout", "[::1:80"], mentions: "]"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--expect", "bogus"], mentions: "--expect"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--expect", "status=bogus"], mentions: "--expect"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--expect", "detected-within=soon"], mentions: "--expect"),
        Case(args: ["syn-timeout"], mentions: "TARGET"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--lab"], mentions: "--lab"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--lab-fault", "blackhole"], mentions: "--lab"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--repeat", "0"], mentions: "--repeat"),
        Case(args: ["syn-timeout", "127.0.0.1:9", "--source", "not-an-address"], mentions: "--source"),
        Case(args: ["no-such-command"], mentions: "no-such-command"),
    ]

    @Test("bad usage: exit 2, empty stdout, 'conndiag: ' message naming the problem", arguments: cases)
    func usageError(_ c: Case) throws {
        let r = try CLI.run(c.args, timeout: 10)
        #expect(r.status == 2 && !r.signaled, "expected exit 2 for `conndiag \(c.testDescription)`: \(r)")
        #expect(r.stdout.isEmpty, "stdout must stay empty on a usage error: \(r)")
        let lines = r.stderrLines
        let first = lines.first ?? ""
        #expect(first.hasPrefix("conndiag: "), "first stderr line must start with 'conndiag: ': \(r)")
        #expect(first.contains(c.mentions), "first stderr line should mention '\(c.mentions)': \(r)")
        // Exactly one line: ConnDiag's main drops ArgumentParser's "Help:"/usage block.
        #expect(lines.count == 1, "stderr must be exactly one line: \(r)")
        #expect(!first.hasPrefix("conndiag: Error: "), "doubled prefix: \(r)")
    }

    /// Every subcommand the binary lists (from its own help dump): --help works and an
    /// unknown flag is bad usage with the same error shape.
    @Test("every subcommand: --help exits 0, an unknown flag exits 2")
    func everySubcommand() throws {
        let dump = try CLI.run(["--experimental-dump-help"])
        let root = try #require(try JSON.object(dump.stdout)["command"] as? [String: Any])
        let names = (root["subcommands"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["commandName"] as? String }
            .filter { $0 != "help" }
        #expect(names.contains("syn-timeout"), "\(names)")
        for name in names {
            let help = try CLI.run([name, "--help"], timeout: 10)
            #expect(help.status == 0, "\(name) --help: \(help)")
            #expect(help.stdout.hasPrefix("OVERVIEW: "), "\(name) --help: \(help)")
            #expect(help.stdout.contains("USAGE: conndiag \(name)"), "\(name) --help: \(help)")
            let bad = try CLI.run([name, "--no-such-flag-xyz"], timeout: 10)
            #expect(bad.status == 2, "\(name) --no-such-flag-xyz: \(bad)")
            #expect(bad.stdout.isEmpty, "\(name) --no-such-flag-xyz: \(bad)")
            #expect(bad.stderrLines.first?.hasPrefix("conndiag: ") == true, "\(name) --no-such-flag-xyz: \(bad)")
            #expect(bad.stderrLines.count == 1, "\(name) --no-such-flag-xyz: \(bad)")
        }
    }
}
