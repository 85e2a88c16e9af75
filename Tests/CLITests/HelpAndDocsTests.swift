import Foundation
import Testing

/// Help text, shell completions and man pages can never go stale: they are compared with
/// what the built binary prints.
@Suite("Help, completions and man pages")
struct HelpAndDocsTests {
    static let snapshotDir = CLI.repoRoot.appendingPathComponent("Tests/Snapshots")
    static var updating: Bool { ProcessInfo.processInfo.environment["CONNDIAG_UPDATE_SNAPSHOTS"] == "1" }

    /// Compares `actual` with Tests/Snapshots/<name>; CONNDIAG_UPDATE_SNAPSHOTS=1 rewrites it.
    func assertSnapshot(_ actual: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = Self.snapshotDir.appendingPathComponent(name)
        if Self.updating {
            try FileManager.default.createDirectory(at: Self.snapshotDir, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try? String(contentsOf: url, encoding: .utf8)
        #expect(expected != nil, "missing snapshot Tests/Snapshots/\(name); create it with `CONNDIAG_UPDATE_SNAPSHOTS=1 swift test --filter CLITests`",
                sourceLocation: sourceLocation)
        guard let expected else { return }
        let same = actual == expected   // a Bool, so a failure prints the message, not two whole files
        #expect(same, """
            Tests/Snapshots/\(name) is stale (first difference: \(firstDifference(expected, actual))). \
            If the change is intended, regenerate with `CONNDIAG_UPDATE_SNAPSHOTS=1 swift test --filter CLITests`.
            """, sourceLocation: sourceLocation)
    }

    @Test("conndiag --help matches the snapshot")
    func rootHelp() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("USAGE: conndiag"), "\(r)")
        #expect(r.stdout.contains("syn-timeout"), "subcommand missing from help: \(r)")
        try assertSnapshot(r.stdout, named: "conndiag--help.txt")
    }

    @Test("conndiag syn-timeout --help matches the snapshot")
    func synTimeoutHelp() throws {
        let r = try CLI.run(["syn-timeout", "--help"])
        #expect(r.status == 0, "\(r)")
        for flag in ["--syncnt", "--connect-timeout", "--format", "--expect", "--lab"] {
            #expect(r.stdout.contains(flag), "\(flag) missing from syn-timeout --help")
        }
        try assertSnapshot(r.stdout, named: "conndiag-syn-timeout--help.txt")
    }

    @Test("duration defaults print as a user types them",
          arguments: [("keepalive-test", ["--write-interval <write-interval>", "(default: 1s)", "(default: 10s)"]),
                      ("probe", ["(default: 5s)"]), ("analyze", ["(default: 5s)"]), ("goaway-trace", ["(default: 10s)"])])
    func durationDefaults(_ subcommand: String, _ expected: [String]) throws {
        let r = try CLI.run([subcommand, "--help"])
        #expect(r.status == 0, "\(r)")
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")   // undo line wrapping
        #expect(!help.contains("DurationArgument"), "\(subcommand) --help shows a Swift value: \(r.stdout)")
        for text in expected { #expect(help.contains(text), "\(text) missing from \(subcommand) --help") }
    }

    @Test("conndiag help syn-timeout prints the same help as syn-timeout --help")
    func helpSubcommand() throws {
        let a = try CLI.run(["help", "syn-timeout"])
        let b = try CLI.run(["syn-timeout", "--help"])
        #expect(a.status == 0 && b.status == 0, "\(a)\n\(b)")
        let same = a.stdout == b.stdout
        #expect(same, "help syn-timeout differs from syn-timeout --help: \(firstDifference(b.stdout, a.stdout))")
    }

    @Test("--version prints a version number", arguments: [["--version"], ["syn-timeout", "--version"]])
    func version(_ args: [String]) throws {
        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r)")
        // `conndiag X.Y.Z (commit ...)`, then one line per C library (VersionCLITests).
        let line = r.stdoutLines.first ?? ""
        #expect(line.range(of: #"^conndiag \d+\.\d+\.\d+ "#, options: .regularExpression) != nil, "not a version: '\(line)'")
        #expect(r.stdoutLines.count == 4, "\(r)")
    }

    @Test("committed completion scripts equal --generate-completion-script",
          arguments: [("bash", "completions/conndiag.bash"), ("zsh", "completions/_conndiag"), ("fish", "completions/conndiag.fish")])
    func completions(_ shell: String, _ path: String) throws {
        let r = try CLI.run(["--generate-completion-script", shell])
        #expect(r.status == 0, "\(r)")
        #expect(!r.stdout.isEmpty)
        let committed = try? String(contentsOf: CLI.repoRoot.appendingPathComponent(path), encoding: .utf8)
        #expect(committed != nil, "\(path) is missing; run `make completions`")
        guard let committed else { return }
        let same = committed == r.stdout
        #expect(same, "\(path) is stale (first difference: \(firstDifference(committed, r.stdout))); run `make completions`")
    }

    @Test("man/.cli-dump.json equals --experimental-dump-help and every subcommand has a man page")
    func manPages() throws {
        let r = try CLI.run(["--experimental-dump-help"])
        #expect(r.status == 0, "\(r)")
        let dumpURL = CLI.repoRoot.appendingPathComponent("man/.cli-dump.json")
        let committed = try? String(contentsOf: dumpURL, encoding: .utf8)
        #expect(committed != nil, "man/.cli-dump.json is missing; run `make man`")
        if let committed {
            let same = committed == r.stdout
            #expect(same, "man/.cli-dump.json is stale (first difference: \(firstDifference(committed, r.stdout))); run `make man`")
        }
        let doc = try JSON.object(r.stdout)
        let root = try #require(doc["command"] as? [String: Any])
        let rootName = try #require(root["commandName"] as? String)
        #expect(rootName == "conndiag")
        var pages: [String] = ["man/\(rootName).1"]
        func walk(_ command: [String: Any], prefix: String) {
            for sub in (command["subcommands"] as? [Any] ?? []).compactMap({ $0 as? [String: Any] }) {
                guard let name = sub["commandName"] as? String else { continue }
                pages.append("man/\(prefix).\(name).1")
                walk(sub, prefix: "\(prefix).\(name)")
            }
        }
        walk(root, prefix: rootName)
        #expect(pages.contains("man/conndiag.syn-timeout.1"), "syn-timeout missing from the dump: \(pages)")
        for page in pages {
            #expect(FileManager.default.fileExists(atPath: CLI.repoRoot.appendingPathComponent(page).path),
                    "\(page) is missing; run `make man`")
        }
    }

    @Test("the man page documents the exit codes")
    func manExitCodes() throws {
        let page = try String(contentsOf: CLI.repoRoot.appendingPathComponent("man/conndiag.1"), encoding: .utf8)
        for code in ["bad usage", "malformed capture file"] {
            #expect(page.contains(code), "man/conndiag.1 does not mention '\(code)' (EXIT CODES); run `make man`")
        }
    }
}

/// "line N: expected '...' got '...'" for a readable failure message.
func firstDifference(_ expected: String, _ actual: String) -> String {
    let e = expected.components(separatedBy: "\n"), a = actual.components(separatedBy: "\n")
    for i in 0..<max(e.count, a.count) {
        let x = i < e.count ? e[i] : "<end of file>", y = i < a.count ? a[i] : "<end of file>"
        if x != y { return "line \(i + 1): committed '\(x.prefix(120))', binary prints '\(y.prefix(120))'" }
    }
    return "none"
}
