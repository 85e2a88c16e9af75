import Foundation
import Glibc
import Testing

/// SIGINT/SIGTERM during a run: the document is still written, whole, with
/// "interrupted": true, the exit code is 1, and the lab namespaces are gone.
@Suite("Interrupts", .enabled(if: CLI.privilegedEnabled, "the lab needs root; always runs with CI=true"))
struct InterruptTests {
    /// Waits until the lab client namespace of `pid` holds a socket in SYN-SENT, i.e. the
    /// blackhole target is being connected to. Returns false on timeout.
    static func waitForSynSent(_ running: CLI.Running, timeout: Double) -> Bool {
        let pid = running.pid
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && running.process.isRunning {
            for ns in CLI.labNamespaces(of: pid) where ns.hasSuffix("-c") {
                let out = (try? CLI.sh(["ip", "netns", "exec", ns, "ss", "-Htn", "state", "syn-sent"], allowFailure: true)) ?? ""
                if !out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return true }
            }
            usleep(100_000)
        }
        return false
    }

    static func waitForNamespace(_ running: CLI.Running, timeout: Double) -> Bool {
        let pid = running.pid
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !CLI.labNamespaces(of: pid).isEmpty { return true }
            if !running.process.isRunning { return false }
            usleep(20_000)
        }
        return false
    }

    /// Starts a blackhole lab run, signals it once it is waiting for SYN retries, and returns the result.
    func interruptedLabRun(format: String, signal sig: Int32,
                           mask: CLI.Running.InterruptMask = .unblocked) throws -> (CLI.Result, Int32) {
        let running = try CLI.Running(CLI.binary, ["syn-timeout", "--lab", "--lab-fault", "blackhole", "--format", format],
                                      interruptMask: mask)
        let pid = running.pid
        guard Self.waitForSynSent(running, timeout: 15) else {
            running.signal(SIGKILL)
            let r = running.wait(timeout: 5)
            Issue.record("the lab never reached SYN-SENT on the blackhole target: \(r)")
            throw HarnessError("lab did not start")
        }
        usleep(1_000_000)  // into the SYN retries
        running.signal(sig)
        let started = Date()
        let r = running.wait(timeout: 10)
        #expect(Date().timeIntervalSince(started) < 5, "the run should stop promptly after the signal")
        return (r, pid)
    }

    @Test("SIGINT with --format json: one complete document, interrupted true, exit 1, lab removed")
    func sigintJSON() throws {
        let (r, pid) = try interruptedLabRun(format: "json", signal: SIGINT)
        #expect(!r.signaled, "the process died of the signal instead of handling it: \(r)")
        #expect(r.status == 1, "\(r)")
        let doc = try JSON.object(r.stdout)   // the whole stdout is exactly one document
        #expect(doc["schema"] as? String == "conndiag/1")
        #expect(doc["interrupted"] as? Bool == true, "\(r)")
        #expect(doc["outcome"] is [String: Any])
        #expect(JSON.kinds(doc).contains("syn"), "events seen before the signal are kept: \(JSON.kinds(doc))")
        #expect(CLI.labNamespaces(of: pid).isEmpty, "lab namespaces left behind: \(CLI.labNamespaces(of: pid))")
    }

    @Test("SIGTERM with --format ndjson: last line is a summary with interrupted true, lab removed")
    func sigtermNDJSON() throws {
        let (r, pid) = try interruptedLabRun(format: "ndjson", signal: SIGTERM)
        #expect(!r.signaled, "the process died of the signal instead of handling it: \(r)")
        #expect(r.status == 1, "\(r)")
        let lines = r.stdoutLines
        try #require(!lines.isEmpty, "\(r)")
        var objects: [[String: Any]] = []
        for line in lines { objects.append(try JSON.object(line)) }
        #expect(objects.dropLast().allSatisfy { $0["type"] as? String == "event" }, "\(r)")
        let summary = try #require(objects.last)
        #expect(summary["type"] as? String == "summary", "\(summary)")
        #expect(summary["interrupted"] as? Bool == true, "\(summary)")
        #expect(CLI.labNamespaces(of: pid).isEmpty, "lab namespaces left behind: \(CLI.labNamespaces(of: pid))")
    }

    /// A supervisor may start conndiag with SIGINT/SIGTERM blocked (Foundation's Process
    /// does, from swift-testing's threads; so do some CI runners). Installing a handler does
    /// not unblock a signal, so the tool must unblock the two it relies on.
    @Test("SIGTERM still interrupts when conndiag was started with SIGINT/SIGTERM blocked")
    func sigtermWithInheritedBlockedMask() throws {
        let (r, pid) = try interruptedLabRun(format: "json", signal: SIGTERM, mask: .blocked)
        #expect(r.status == 1, "\(r)")
        let doc = try? JSON.object(r.stdout)
        #expect(doc?["interrupted"] as? Bool == true, "the signal was never handled: \(r)")
        #expect(CLI.labNamespaces(of: pid).isEmpty, "lab namespaces left behind: \(CLI.labNamespaces(of: pid))")
    }

    /// ARCHITECTURE.md §3: the JSON document is written also on SIGINT. An interrupt while the lab
    /// is still being built is an interrupt too (exit 1), not "the environment refused" (3).
    @Test("SIGINT while the lab is being set up: still one document with interrupted true, exit 1")
    func sigintDuringSetup() throws {
        let running = try CLI.Running(CLI.binary, ["syn-timeout", "--lab", "--lab-fault", "blackhole", "--format", "json"])
        let pid = running.pid
        let appeared = Self.waitForNamespace(running, timeout: 10)
        running.signal(SIGINT)
        let r = running.wait(timeout: 15)
        try #require(appeared, "no cdlab-\(pid)-* namespace appeared: \(r)")
        #expect(!r.signaled, "\(r)")
        #expect(r.status == 1, "an interrupted run exits 1: \(r)")
        let doc = try? JSON.object(r.stdout)
        #expect(doc?["interrupted"] as? Bool == true, "stdout must hold one document with interrupted true: \(r)")
        #expect(CLI.labNamespaces(of: pid).isEmpty, "lab namespaces left behind: \(CLI.labNamespaces(of: pid))")
    }
}
