import Foundation
import Glibc
import Testing

/// Name resolution without a real resolver: the binary runs inside a namespace whose
/// resolv.conf points at 127.0.0.1 (nothing listens there) and whose hosts file holds
/// only localhost (`ip netns exec` bind-mounts /etc/netns/NAME/* over /etc/*).
@Suite("Name resolution in a private namespace", .enabled(if: CLI.privilegedEnabled, "needs root (ip netns); always runs with CI=true"))
struct ResolverCLITests {
    /// `cdtest-<pid>-dns`: the pid comes first so Lab.sweepStale (run by LabTests in the same
    /// process) sees a live owner and leaves the namespace alone.
    final class DNSNamespace {
        let name: String
        let etcDir: String
        init() throws {
            name = "cdtest-\(getpid())-dns"
            etcDir = "/etc/netns/\(name)"
            try? CLI.sh(["ip", "netns", "del", name], allowFailure: true)
            try CLI.sh(["ip", "netns", "add", name])
            do {
                try FileManager.default.createDirectory(atPath: etcDir, withIntermediateDirectories: true)
                try "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n".write(toFile: etcDir + "/resolv.conf", atomically: true, encoding: .utf8)
                try "127.0.0.1 localhost\n".write(toFile: etcDir + "/hosts", atomically: true, encoding: .utf8)
                try CLI.sh(["ip", "-n", name, "link", "set", "lo", "up"])
            } catch {
                destroy()
                throw error
            }
        }
        func run(_ args: [String], timeout: Double = 15) throws -> CLI.Result {
            try CLI.runTool("/usr/bin/env", ["ip", "netns", "exec", name, CLI.binary] + args, timeout: timeout)
        }
        func destroy() {
            _ = try? CLI.sh(["ip", "netns", "del", name], allowFailure: true)
            try? FileManager.default.removeItem(atPath: etcDir)
        }
    }

    // One namespace name per process: the two checks share it, so they run one after the other.
    @Test("unknown host: exit 2 and one 'cannot resolve' line; hosts-file names resolve")
    func resolution() throws {
        let ns = try DNSNamespace()
        defer { ns.destroy() }

        let start = Date()
        let bad = try ns.run(["syn-timeout", "nosuch.lab:80"])
        #expect(Date().timeIntervalSince(start) < 5, "resolution failure should be quick (no real resolver)")
        #expect(bad.status == 2, "unknown host is bad usage (exit 2): \(bad)")
        #expect(bad.stdout.isEmpty, "\(bad)")
        #expect(bad.stderrLines.count == 1, "exactly one line on stderr: \(bad)")
        #expect(bad.stderrLines.first?.hasPrefix("conndiag: ") == true, "\(bad)")
        #expect(bad.stderr.contains("cannot resolve"), "\(bad)")
        #expect(bad.stderr.contains("nosuch.lab"), "\(bad)")

        let good = try ns.run(["syn-timeout", "localhost:1", "--format", "json"])
        #expect(good.status == 1, "localhost:1 is refused (exit 1): \(good)")
        let doc = try JSON.object(good.stdout)
        let target = try #require(doc["target"] as? [String: Any])
        #expect(target["host"] as? String == "localhost")
        #expect(target["address"] as? String == "127.0.0.1")
        #expect((target["port"] as? Int) == 1)
        let outcome = try #require(doc["outcome"] as? [String: Any])
        #expect(outcome["status"] as? String == "refused", "\(good)")
    }
}
