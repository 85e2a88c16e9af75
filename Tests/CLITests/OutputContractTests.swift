import Foundation
import Glibc
import Testing

/// The JSON contract "conndiag/1" (ARCHITECTURE.md §3) checked on loopback against ports this
/// process owns: a listener (connected) and a bound, non-listening socket (refused).
@Suite("JSON contract on loopback", .enabled(if: CLI.privilegedEnabled, "packet capture needs root; always runs with CI=true"))
struct JSONContractTests {
    static let sources: Set<String> = ["socket", "wire", "h2", "app"]

    /// Checks the shape every syn-timeout document must have; returns the outcome.
    @discardableResult
    func checkShape(_ doc: [String: Any], host: String, address: String, port: UInt16,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(doc["schema"] as? String == "conndiag/1", sourceLocation: sourceLocation)
        #expect(doc["command"] as? String == "syn-timeout", sourceLocation: sourceLocation)
        let target = try #require(doc["target"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(target["host"] as? String == host, sourceLocation: sourceLocation)
        #expect(target["address"] as? String == address, sourceLocation: sourceLocation)
        #expect(target["port"] as? Int == Int(port), sourceLocation: sourceLocation)
        let settings = try #require(doc["settings"] as? [String: Any], sourceLocation: sourceLocation)
        for k in ["keepidle_s", "user_timeout_ms", "syncnt"] {
            #expect(settings[k] != nil, "settings.\(k) missing", sourceLocation: sourceLocation)
        }
        let kernel = try #require(doc["kernel"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(kernel["tcp_syn_retries"] is NSNumber, "kernel.tcp_syn_retries missing", sourceLocation: sourceLocation)
        #expect(kernel.keys.contains("tcp_syn_linear_timeouts"), "kernel.tcp_syn_linear_timeouts key missing", sourceLocation: sourceLocation)
        #expect(doc["interrupted"] as? Bool == false, sourceLocation: sourceLocation)
        let events = try #require(doc["events"] as? [Any], sourceLocation: sourceLocation)
        var lastT = -Double.infinity
        for case let e as [String: Any] in events {
            let t = e["t"] as? Double
            #expect(t != nil, "event without numeric t: \(e)", sourceLocation: sourceLocation)
            #expect(Self.sources.contains(e["source"] as? String ?? ""), "bad source: \(e)", sourceLocation: sourceLocation)
            #expect(!(e["kind"] as? String ?? "").isEmpty, "event without kind: \(e)", sourceLocation: sourceLocation)
            if let t {
                #expect(t >= 0, "negative t: \(e)", sourceLocation: sourceLocation)
                #expect(t >= lastT, "events out of order: t=\(t) after \(lastT): \(e)", sourceLocation: sourceLocation)
                lastT = t
            }
        }
        #expect(events.count == events.compactMap({ $0 as? [String: Any] }).count, "every event is an object", sourceLocation: sourceLocation)
        let outcome = try #require(doc["outcome"] as? [String: Any], sourceLocation: sourceLocation)
        for k in ["status", "mechanism", "detected_at", "predicted_at", "errno", "summary"] {
            #expect(outcome.keys.contains(k), "outcome.\(k) missing", sourceLocation: sourceLocation)
        }
        #expect(!(outcome["summary"] as? String ?? "").isEmpty, sourceLocation: sourceLocation)
        return outcome
    }

    @Test("listening port: exit 0, connected, SYN and SYN-ACK on the wire")
    func connected() throws {
        let listener = try LoopbackPort(listening: true)
        let r = try CLI.run(["syn-timeout", listener.target, "--format", "json"])
        #expect(r.status == 0, "\(r)")
        let doc = try JSON.object(r.stdout)
        let outcome = try checkShape(doc, host: "127.0.0.1", address: "127.0.0.1", port: listener.port)
        #expect(doc["capture"] as? Bool == true, "\(r)")
        #expect(doc["capture_note"] == nil, "\(r)")
        #expect(outcome["status"] as? String == "connected", "\(r)")
        #expect(outcome["mechanism"] is String)
        #expect(outcome["detected_at"] is NSNumber, "connected_at should be a number: \(outcome)")
        #expect(JSON.isNull(outcome["errno"]), "no errno when connected: \(outcome)")
        let kinds = JSON.kinds(doc)
        #expect(kinds.contains("syn"), "\(kinds)")
        #expect(kinds.contains("syn-ack"), "\(kinds)")
        let synAck = JSON.events(doc).first { $0["kind"] as? String == "syn-ack" }
        #expect(synAck?["direction"] as? String == "in", "\(String(describing: synAck))")
        #expect(JSON.events(doc).first { $0["kind"] as? String == "syn" }?["direction"] as? String == "out")
        #expect(r.stderr.isEmpty, "nothing on stderr when all is well: \(r)")
    }

    @Test("closed port: exit 1, refused by RST with ECONNREFUSED")
    func refused() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--format", "json"])
        #expect(r.status == 1, "\(r)")
        let doc = try JSON.object(r.stdout)
        let outcome = try checkShape(doc, host: "127.0.0.1", address: "127.0.0.1", port: closed.port)
        #expect(doc["capture"] as? Bool == true)
        #expect(outcome["status"] as? String == "refused", "\(r)")
        #expect(outcome["mechanism"] as? String == "rst", "\(r)")
        #expect(outcome["errno"] as? String == "ECONNREFUSED", "\(r)")
        #expect(outcome["detected_at"] is NSNumber)
        let rst = JSON.events(doc).first { $0["kind"] as? String == "rst" }
        #expect(rst?["direction"] as? String == "in", "an incoming RST event: \(JSON.kinds(doc))")
        #expect(rst?["source"] as? String == "wire")
        #expect(JSON.events(doc).contains { $0["kind"] as? String == "error" && $0["errno"] as? String == "ECONNREFUSED" })
    }

    @Test("closed IPv6 port with -6: refused, target.address ::1")
    func refusedIPv6() throws {
        let closed = try LoopbackPort(listening: false, ipv6: true)
        let r = try CLI.run(["syn-timeout", closed.target, "-6", "--format", "json"])
        #expect(r.status == 1, "\(r)")
        let doc = try JSON.object(r.stdout)
        let outcome = try checkShape(doc, host: "::1", address: "::1", port: closed.port)
        #expect(outcome["status"] as? String == "refused", "\(r)")
        #expect(outcome["mechanism"] as? String == "rst", "\(r)")
        #expect(JSON.kinds(doc).contains("rst"), "\(JSON.kinds(doc))")
    }

    @Test("--syncnt shows up in settings")
    func settingsReflectFlags() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--syncnt", "3", "--user-timeout", "2500ms", "--json"])
        #expect(r.status == 1, "\(r)")
        let settings = try #require(try JSON.object(r.stdout)["settings"] as? [String: Any])
        #expect(settings["syncnt"] as? Int == 3, "\(settings)")
        #expect(settings["user_timeout_ms"] as? Int == 2500, "\(settings)")
    }

    @Test("table: one line per event and a verdict; NO_COLOR removes escape codes on a terminal")
    func table() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--format", "table"])
        #expect(r.status == 1, "\(r)")
        let lines = r.stdoutLines
        // Event rows: "   148.611 ms  wire   → syn   SYN seq=..." (time, source, direction, kind, detail).
        func row(_ source: String, _ arrow: String, _ kind: String) -> Bool {
            lines.contains { $0.range(of: #"^\s*\d+(\.\d+)? ms\s+"# + source + #"\s+"# + arrow + #" "# + kind + #"\s"#,
                                     options: .regularExpression) != nil }
        }
        #expect(row("wire", "→", "syn"), "an outgoing syn row: \(r)")
        #expect(row("wire", "←", "rst"), "an incoming rst row: \(r)")
        #expect(lines.contains { $0.range(of: #"^\s*\d+(\.\d+)? ms\s+socket\s+error\s+.*ECONNREFUSED"#, options: .regularExpression) != nil }, "\(r)")
        #expect(lines.contains { $0.hasPrefix("  verdict:") && $0.contains("refused") }, "\(r)")
        #expect(!r.stdout.contains("\u{1B}"), "no escape codes when stdout is not a terminal")

        // On a terminal the default format is the table, coloured unless NO_COLOR is set.
        func onTerminal(_ env: [String: String], unsetting: [String]) throws -> (CLI.Result, String) {
            let pty = try PseudoTerminal()
            let running = try CLI.Running(CLI.binary, ["syn-timeout", closed.target], environment: env,
                                          unsetting: unsetting, stdout: pty.slave)
            let result = running.wait(timeout: 20)
            return (result, pty.drain())
        }
        let (plainRun, plain) = try onTerminal(["NO_COLOR": "1"], unsetting: [])
        #expect(plainRun.status == 1, "\(plainRun)")
        #expect(plain.contains("verdict:"), "table is the default on a terminal: \(plain)")
        #expect(!plain.contains("\u{1B}"), "NO_COLOR=1 must remove every escape code: \(plain.debugDescription)")
        let (colourRun, coloured) = try onTerminal([:], unsetting: ["NO_COLOR"])
        #expect(colourRun.status == 1, "\(colourRun)")
        #expect(coloured.contains("\u{1B}["), "without NO_COLOR a terminal gets colour (else the NO_COLOR check proves nothing)")
    }

    @Test("without CAP_NET_RAW: socket-level events, capture false, one note on stderr, exit 1")
    func captureDenied() throws {
        let setpriv = "/usr/bin/setpriv"
        try #require(FileManager.default.isExecutableFile(atPath: setpriv), "setpriv (util-linux) is needed")
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.runTool(setpriv, ["--bounding-set=-net_raw", "--inh-caps=-net_raw", "--",
                                          CLI.binary, "syn-timeout", closed.target, "--format", "json"])
        #expect(!r.signaled, "crashed: \(r)")
        #expect(r.status == 1, "\(r)")
        let doc = try JSON.object(r.stdout)
        let outcome = try checkShape(doc, host: "127.0.0.1", address: "127.0.0.1", port: closed.port)
        #expect(doc["capture"] as? Bool == false, "\(r)")
        let note = doc["capture_note"] as? String ?? ""
        #expect(note.contains("CAP_NET_RAW"), "capture_note: '\(note)'")
        #expect(outcome["status"] as? String == "refused", "\(r)")
        #expect(outcome["errno"] as? String == "ECONNREFUSED", "\(r)")
        let events = JSON.events(doc)
        #expect(events.contains { $0["kind"] as? String == "error" && $0["errno"] as? String == "ECONNREFUSED" && $0["source"] as? String == "socket" },
                "\(JSON.kinds(doc))")
        #expect(!events.contains { $0["source"] as? String == "wire" }, "no wire events without capture: \(JSON.kinds(doc))")
        #expect(r.stderrLines.count == 1, "exactly one line on stderr: \(r)")
        #expect(r.stderrLines.first.map { $0.hasPrefix("conndiag: ") && $0.contains(note) } == true, "\(r)")
    }
}

/// NDJSON and --expect need no capture: they run as any user.
@Suite("NDJSON and --expect")
struct StreamingAndExpectTests {
    /// analyze's --format help says what its ndjson holds (no events: connections, then the
    /// summary), and the output is exactly that shape.
    @Test("analyze ndjson: one connection line per connection, then one summary line, as its help says")
    func analyzeNDJSONMatchesItsHelp() throws {
        let help = try CLI.run(["analyze", "--help"])
        let helpText = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(helpText.contains("ndjson (one connection line per connection as soon as it is settled, then one summary line; no event lines)"), "\(help.stdout)")
        let other = try CLI.run(["syn-timeout", "--help"])
        #expect(other.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ").contains("ndjson (one event per line"))

        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AnalyzeTests/Fixtures")
        let files = ["grpc-drain.pcap", "proxy-reset.pcap", "syn-blackhole.pcap"].map { fixtures.appendingPathComponent($0).path }
        let r = try CLI.run(["analyze"] + files + ["--format", "ndjson"])
        #expect(r.stdout.hasSuffix("\n"), "ndjson ends with a newline")
        let objects = try r.stdoutLines.map { try JSON.object($0) }
        try #require(objects.count >= 2, "\(r)")
        let connections = objects.dropLast()
        for o in connections {
            #expect(o["type"] as? String == "connection", "\(o)")
            #expect(o["client"] is String && o["server"] is String && o["outcome"] is [String: Any], "\(o)")
        }
        #expect(!objects.contains { $0["type"] as? String == "event" }, "analyze writes no event lines")
        let summary = try #require(objects.last)
        #expect(summary["type"] as? String == "summary" && summary["command"] as? String == "analyze", "\(summary)")
        let listed = try #require(summary["connections"] as? [[String: Any]])
        #expect(listed.count == connections.count && connections.count == 3, "one line per connection of the summary")
        // Lines come as connections settle; the summary lists them in its own order.
        #expect(Set(connections.compactMap { $0["client"] as? String }) == Set(listed.compactMap { $0["client"] as? String }))
    }

    @Test("ndjson: every line an object, events then one summary without events")
    func ndjson() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--format", "ndjson"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.hasSuffix("\n"), "ndjson ends with a newline")
        let lines = r.stdoutLines
        try #require(lines.count >= 2, "at least one event and the summary: \(r)")
        var objects: [[String: Any]] = []
        for line in lines {
            #expect(!line.contains("\n"))
            objects.append(try JSON.object(line))
        }
        for o in objects.dropLast() {
            #expect(o["type"] as? String == "event", "\(o)")
            #expect(o["t"] is NSNumber && o["kind"] is String && o["source"] is String, "\(o)")
        }
        let summary = try #require(objects.last)
        #expect(summary["type"] as? String == "summary", "\(summary)")
        #expect(summary["events"] == nil, "the summary line carries no events array")
        #expect(summary["schema"] as? String == "conndiag/1")
        #expect(summary["interrupted"] as? Bool == false)
        let outcome = try #require(summary["outcome"] as? [String: Any])
        #expect(outcome["status"] as? String == "refused")
        #expect(objects.contains { $0["kind"] as? String == "error" && $0["errno"] as? String == "ECONNREFUSED" })
    }

    struct ExpectCase: CustomTestStringConvertible, Sendable {
        var expects: [String]
        var exit: Int32
        var held: [Bool]
        var testDescription: String { expects.joined(separator: " ") }
    }

    @Test("--expect decides the exit code and is reported in JSON", arguments: [
        ExpectCase(expects: ["status=refused"], exit: 0, held: [true]),
        ExpectCase(expects: ["ok"], exit: 1, held: [false]),
        ExpectCase(expects: ["mechanism=rst"], exit: 0, held: [true]),
        ExpectCase(expects: ["status=timeout"], exit: 1, held: [false]),
        ExpectCase(expects: ["detected-within=5s"], exit: 0, held: [true]),
        ExpectCase(expects: ["status=refused", "ok"], exit: 1, held: [true, false]),
        ExpectCase(expects: ["status=refused", "mechanism=rst"], exit: 0, held: [true, true]),
    ])
    func expect(_ c: ExpectCase) throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--format", "json", "--expect"] + c.expects)
        #expect(r.status == c.exit, "\(r)")
        let doc = try JSON.object(r.stdout)
        let list = try #require(doc["expectations"] as? [Any], "expectations array missing: \(r)")
        let items = list.compactMap { $0 as? [String: Any] }
        #expect(items.map { $0["expect"] as? String ?? "?" } == c.expects, "\(items)")
        #expect(items.map { $0["held"] as? Bool } == c.held.map { Optional($0) }, "\(items)")
        for item in items where item["held"] as? Bool == false {
            #expect(!(item["why"] as? String ?? "").isEmpty, "a failed expectation says why: \(item)")
        }
    }

    @Test("without --expect there is no expectations key")
    func noExpect() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--json"])
        #expect(r.status == 1, "\(r)")
        #expect(try JSON.object(r.stdout)["expectations"] == nil)
    }

    @Test("table output prints FAILED for an --expect that did not hold")
    func expectTable() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["syn-timeout", closed.target, "--format", "table", "--expect", "ok"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdoutLines.contains { $0.hasPrefix("FAILED expect ok") }, "\(r)")
    }
}
