import Testing
import Foundation
import Glibc

/// SIGINT and SIGTERM at random moments of every subcommand and of `lab`: each run still
/// writes a complete report marked interrupted, pcap files stay readable, and nothing it made
/// (namespace, veth, iptables rule, child process) survives it. Then a SIGKILLed run's
/// leftovers are swept by the next run.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct InterruptStormTests {
    static let commands: [[String]] = [
        ["syn-timeout", "--lab", "--lab-fault", "blackhole"],
        ["keepalive-test", "--lab", "--cut-after", "1s", "--keepalive", "--keepidle", "2", "--keepintvl", "1", "--keepcnt", "3"],
        ["keepalive-test", "--lab", "--traffic", "send", "--cut-after", "1s", "--for", "20s"],
        ["goaway-trace", "--lab", "grpc", "--max-connection-age", "20s", "--grpc", "/conndiag.Lab/Watch", "--server-stream", "--for", "20s"],
        ["goaway-trace", "--lab", "nghttpd", "--keep-request-open", "--for", "20s"],
        ["lab", "syn-blackhole-syncnt2", "keepalive-short", "--parallel", "2"],
    ]

    /// Processes inside the lab namespaces of run `pid` (its peers).
    static func labPids(of pid: Int32) -> [Int32] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }
        var out: [Int32] = []
        for n in names {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "pids", n]
            let o = Pipe(); p.standardOutput = o; p.standardError = FileHandle.nullDevice
            try? p.run(); p.waitUntilExit()
            out += String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        }
        return out
    }

    /// The pids still running. A zombie is not: a SIGKILLed run's peers are reparented to
    /// pid 1, and until it reaps them kill(pid, 0) still succeeds.
    static func alive(_ pids: [Int32]) -> [Int32] {
        pids.filter { pid in
            guard kill(pid, 0) == 0 else { return false }
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return !stat[close...].hasPrefix(") Z")
        }
    }

    /// `alive(pids)` once they are gone, or after `seconds` (SIGKILL takes effect asynchronously).
    static func survivors(_ pids: [Int32], within seconds: Double) -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        var left = alive(pids)
        while !left.isEmpty && Date() < deadline { usleep(20_000); left = alive(left) }
        return left
    }

    struct Run: Sendable { var args: [String]; var format: String; var signal: Int32; var delay: Double; var pcap: String? }

    static func plan() -> [Run] {
        var g = SystemRandomNumberGenerator()
        var runs: [Run] = []
        for i in 0..<50 {
            let cmd = commands[i % commands.count]
            let format = i % 2 == 0 ? "json" : "ndjson"
            let pcap = cmd[0] != "lab" && i % 3 == 0 ? "/tmp/cdtest-storm-\(getpid())-\(i).pcap" : nil
            runs.append(Run(args: cmd + ["--format", format] + (pcap.map { ["--write-pcap", $0] } ?? []), format: format,
                            signal: i % 4 == 1 ? SIGTERM : SIGINT, delay: Double.random(in: 0.05...2.5, using: &g), pcap: pcap))
        }
        return runs
    }

    static func check(_ run: Run) -> [String] {
        var problems: [String] = []
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TimingLabMatrixTests.binary)
        p.arguments = run.args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return ["cannot start: \(error)"] }
        let pid = p.processIdentifier
        // Read while waiting so a full pipe never blocks the child.
        // The lock orders the reader's write before the read below: Thread.isFinished is no
        // synchronisation ThreadSanitizer can see (it reported this as a race).
        var received = Data()
        let dataLock = NSLock()
        let reader = Thread { let d = out.fileHandleForReading.readDataToEndOfFile(); dataLock.withLock { received = d } }
        reader.start()
        usleep(useconds_t(run.delay * 1_000_000))
        let peers = Self.labPids(of: pid)
        kill(pid, run.signal)
        p.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { usleep(10_000) }
        let data = dataLock.withLock { received }
        let label = "\(run.args.prefix(3).joined(separator: " ")) \(run.format) sig\(run.signal) after \(String(format: "%.2f", run.delay))s"
        if p.terminationReason != .exit { problems.append("\(label): killed by a signal instead of exiting") }
        if run.format == "json" {
            if let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if doc["interrupted"] as? Bool != true { problems.append("\(label): not marked interrupted") }
            } else {
                problems.append("\(label): incomplete JSON (\(data.count) bytes)")
            }
        } else {
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
            for l in lines where (try? JSONSerialization.jsonObject(with: Data(l.utf8))) == nil { problems.append("\(label): a broken NDJSON line") }
            if let last = lines.last, let doc = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] {
                if doc["type"] as? String != "summary" || doc["interrupted"] as? Bool != true { problems.append("\(label): last line is not an interrupted summary") }
            } else { problems.append("\(label): no summary line") }
        }
        if let pcap = run.pcap {
            if FileManager.default.fileExists(atPath: pcap) {
                let t = Process()
                t.executableURL = URL(fileURLWithPath: "/usr/bin/tcpdump")
                t.arguments = ["-r", pcap, "-nn"]
                t.standardOutput = FileHandle.nullDevice
                t.standardError = FileHandle.nullDevice
                try? t.run(); t.waitUntilExit()
                if t.terminationStatus != 0 { problems.append("\(label): tcpdump cannot read the pcap") }
                unlink(pcap)
            }
        }
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }
        if !left.isEmpty { problems.append("\(label): namespaces left: \(left)") }
        let survivors = Self.alive(peers)
        if !survivors.isEmpty { problems.append("\(label): peer processes survived: \(survivors)") }
        return problems
    }

    @Test func fiftyInterruptedRunsLeaveCompleteReportsAndNothingBehind() throws {
        try LabGate.requireGRPCIO()
        let runs = Self.plan()
        let lock = NSLock()
        var problems: [String] = []
        var next = 0
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                while true {
                    lock.lock(); let i = next; next += 1; lock.unlock()
                    if i >= runs.count { break }
                    let p = Self.check(runs[i])
                    lock.lock(); problems += p; lock.unlock()
                }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // The host's firewall never saw any of it.
        let ipt = Process()
        ipt.executableURL = URL(fileURLWithPath: "/usr/sbin/iptables")
        ipt.arguments = ["-S"]
        let o = Pipe(); ipt.standardOutput = o
        try ipt.run(); ipt.waitUntilExit()
        let rules = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("-P ") }
        #expect(rules.isEmpty, "root namespace rules: \(rules)")
    }

    @Test func aSIGKILLedRunIsSweptByTheNext() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TimingLabMatrixTests.binary)
        p.arguments = ["keepalive-test", "--lab", "--for", "30s", "--format", "json"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        var made: [String] = []
        for _ in 0..<100 {
            made = ((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }
            if made.count == 2 { break }
            usleep(50_000)
        }
        try #require(made.count == 2, "the run did not create its lab")
        usleep(700_000)
        let peers = Self.labPids(of: pid)
        #expect(!peers.isEmpty)
        kill(pid, SIGKILL)
        p.waitUntilExit()
        // Its namespaces and its echo peer are still there...
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }.isEmpty)
        // ...until the next run sweeps them.
        let next = Process()
        next.executableURL = URL(fileURLWithPath: TimingLabMatrixTests.binary)
        next.arguments = ["syn-timeout", "--lab", "--lab-fault", "refuse", "--format", "json"]
        next.standardOutput = FileHandle.nullDevice
        next.standardError = FileHandle.nullDevice
        try next.run(); next.waitUntilExit()
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }.isEmpty)
        #expect(Self.survivors(peers, within: 2).isEmpty, "the killed run's peers survived the sweep")
    }
}
