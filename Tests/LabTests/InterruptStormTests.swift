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
            guard let p = try? SpawnedProcess("/usr/sbin/ip", ["netns", "pids", n]) else { continue }
            _ = p.wait()
            out += String(decoding: p.output, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        }
        return out
    }

    /// Waits (up to 5 s) until `pid` has handlers for SIGINT and SIGTERM (SigCgt bits 2 and 15).
    static func waitUntilCatching(_ pid: pid_t) {
        let end = Date().addingTimeInterval(5)
        while Date() < end {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
               let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16),
               mask & (1 << (UInt64(SIGINT) - 1)) != 0, mask & (1 << (UInt64(SIGTERM) - 1)) != 0 { return }
            if status.isEmpty { return }
            usleep(2_000)
        }
    }

    /// Pids still running: a zombie (killed, not yet reaped by init) counts as gone.
    static func alive(_ pids: [Int32]) -> [Int32] {
        pids.filter { pid in
            guard kill(pid, 0) == 0 else { return false }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            guard let close = stat.lastIndex(of: ")") else { return false }
            return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
        }
    }

    /// Waits up to `seconds` for the pids to be gone (SIGKILL is delivered asynchronously).
    static func aliveAfter(_ pids: [Int32], seconds: Double = 3) -> [Int32] {
        let end = Date().addingTimeInterval(seconds)
        var left = alive(pids)
        while !left.isEmpty && Date() < end { usleep(50_000); left = alive(left) }
        return left
    }

    struct Run: Sendable { var args: [String]; var format: String; var signal: Int32; var delay: Double; var pcap: String? }

    /// The plan: every subcommand (probe holds an idle connection to `probePort` on loopback).
    static func plan(probePort: Int) -> [Run] {
        var g = SystemRandomNumberGenerator()
        var runs: [Run] = []
        let all = commands + [["probe", "127.0.0.1:\(probePort)", "127.0.0.2:\(probePort)", "--hold", "20s"]]
        for i in 0..<56 {
            let cmd = all[i % all.count]
            let format = i % 2 == 0 ? "json" : "ndjson"
            let pcap = cmd[0] != "lab" && cmd[0] != "probe" && i % 3 == 0 ? "/tmp/cdtest-storm-\(getpid())-\(i).pcap" : nil
            runs.append(Run(args: cmd + ["--format", format] + (pcap.map { ["--write-pcap", $0] } ?? []), format: format,
                            signal: i % 4 == 1 ? SIGTERM : SIGINT, delay: Double.random(in: 0...2.5, using: &g), pcap: pcap))
        }
        return runs
    }

    static func check(_ run: Run) -> [String] {
        var problems: [String] = []
        let child: SpawnedProcess
        do { child = try SpawnedProcess(TimingLabMatrixTests.binary, run.args) } catch { return ["cannot start: \(error)"] }
        let pid = child.pid
        // The random moment counts from when the run catches SIGINT/SIGTERM (its command has
        // started); before that, during exec and dynamic loading, any program just dies.
        Self.waitUntilCatching(pid)
        usleep(useconds_t(run.delay * 1_000_000))
        let peers = Self.labPids(of: pid)
        kill(pid, run.signal)
        let ending = child.wait()
        let data = child.output
        let label = "\(run.args.prefix(3).joined(separator: " ")) \(run.format) sig\(run.signal) after \(String(format: "%.2f", run.delay))s"
        if case .signaled(let sig) = ending { problems.append("\(label): killed by signal \(sig) instead of exiting") }
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
                let t = try? SpawnedProcess("/usr/bin/tcpdump", ["-r", pcap, "-nn"], discardOutput: true)
                let tcpdumpEnding = t?.wait()
                if tcpdumpEnding != .exited(0) { problems.append("\(label): tcpdump cannot read the pcap") }
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
        // A loopback listener that never accepts: the kernel still completes handshakes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) == 0 && listen(listener, 128) == 0 && getsockname(listener, $0, &len) == 0 } })
        let runs = Self.plan(probePort: Int(UInt16(bigEndian: addr.sin_port)))
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
        let ipt = try SpawnedProcess("/usr/sbin/iptables", ["-S"])
        _ = ipt.wait()
        let rules = String(decoding: ipt.output, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("-P ") }
        #expect(rules.isEmpty, "root namespace rules: \(rules)")
    }

    @Test func aSIGKILLedRunIsSweptByTheNext() throws {
        let p = try SpawnedProcess(TimingLabMatrixTests.binary, ["keepalive-test", "--lab", "--for", "30s", "--format", "json"], discardOutput: true)
        let pid = p.pid
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
        #expect(p.wait() == .signaled(SIGKILL))
        // Its namespaces and its echo peer are still there...
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }.isEmpty)
        // ...until the next run sweeps them.
        let next = try SpawnedProcess(TimingLabMatrixTests.binary, ["syn-timeout", "--lab", "--lab-fault", "refuse", "--format", "json"], discardOutput: true)
        _ = next.wait()
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []).filter { $0.hasPrefix("cdlab-\(pid)-") }.isEmpty)
        #expect(Self.aliveAfter(peers).isEmpty, "the killed run's peers survived the sweep")
    }
}
