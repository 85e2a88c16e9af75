import Foundation
import Glibc
import Testing

/// --netns-pid / --netns on every live subcommand: a namespace with an HTTP/2 peer (nghttpd)
/// on 127.0.0.1:PORT that only that namespace has (the root namespace's loopback refuses the
/// same port), and its own net.ipv4.tcp_syn_retries (3) and tcp_keepalive_time (4321), which
/// each run's JSON `kernel` section must show.
@Suite("Entering a namespace (--netns, --netns-pid)", .serialized,
       .enabled(if: CLI.privilegedEnabled, "needs root (ip netns, setns); always runs with CI=true"))
struct NetnsCLITests {
    /// `cdtest-<pid>-netns`: the pid first, so the sweeps of a concurrent test process leave it.
    final class PeerNamespace {
        let name = "cdtest-\(getpid())-netns"
        let port: Int
        let peer: CLI.Running
        init() throws {
            try? CLI.sh(["ip", "netns", "del", name], allowFailure: true)
            try CLI.sh(["ip", "netns", "add", name])
            do {
                try CLI.sh(["ip", "-n", name, "link", "set", "lo", "up"])
                try CLI.sh(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=3", "net.ipv4.tcp_keepalive_time=4321"])
                port = try Self.portRefusedInRootNamespace()
                peer = try CLI.Running("/usr/bin/env", ["ip", "netns", "exec", name, "nghttpd", "--no-tls", "-a", "127.0.0.1", String(port)])
                try Self.waitForListener(namespace: name, port: port)
            } catch {
                _ = try? CLI.sh(["ip", "netns", "del", name], allowFailure: true)
                throw error
            }
        }
        /// env execs ip, ip execs nghttpd: the pid is the peer's.
        var pid: Int32 { peer.pid }
        func destroy() {
            peer.signal(SIGKILL)
            _ = peer.wait(timeout: 5)
            _ = try? CLI.sh(["ip", "netns", "del", name], allowFailure: true)
        }

        /// A high port nothing listens on in the root namespace (a connect there is refused).
        static func portRefusedInRootNamespace() throws -> Int {
            for _ in 0..<20 {
                let p = Int.random(in: 40000...59999)
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET); a.sin_port = in_port_t(UInt16(p).bigEndian)
                a.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
                let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                if rc != 0 && errno == ECONNREFUSED { return p }
            }
            throw HarnessError("no free loopback port in the root namespace")
        }

        static func waitForListener(namespace: String, port: Int) throws {
            for _ in 0..<50 {
                let out = (try? CLI.sh(["ip", "netns", "exec", namespace, "ss", "-Hltn", "sport = :\(port)"], allowFailure: true)) ?? ""
                if !out.isEmpty { return }
                usleep(100_000)
            }
            throw HarnessError("nghttpd did not listen on 127.0.0.1:\(port) in \(namespace)")
        }
    }

    static func kernel(_ doc: [String: Any]) -> [String: Any] { doc["kernel"] as? [String: Any] ?? [:] }

    @Test("syn-timeout, keepalive-test, goaway-trace, probe and inspect with --netns-pid reach the namespace's peer and report its sysctls; --netns by name too")
    func everyLiveSubcommand() throws {
        let ns = try PeerNamespace()
        defer { ns.destroy() }
        let target = "127.0.0.1:\(ns.port)"
        let pid = String(ns.pid)

        // Control: from the root namespace the same target is refused, with the root's sysctls.
        let outside = try CLI.run(["syn-timeout", target, "--format", "json"])
        let outsideDoc = try JSON.object(outside.stdout)
        #expect((outsideDoc["outcome"] as? [String: Any])?["status"] as? String == "refused", "\(outside)")
        #expect(Self.kernel(outsideDoc)["tcp_keepalive_time"] as? Int != 4321, "the root namespace must differ for this test to mean anything")

        let runs: [(String, [String])] = [
            ("syn-timeout", ["syn-timeout", target, "--netns-pid", pid]),
            ("syn-timeout --netns", ["syn-timeout", target, "--netns", ns.name]),
            ("keepalive-test", ["keepalive-test", target, "--netns-pid", pid, "--for", "1s"]),
            ("goaway-trace", ["goaway-trace", target, "--netns-pid", pid, "--for", "1s"]),
            ("probe", ["probe", target, "--h2", "--netns-pid", pid, "--expect", "ok"]),
        ]
        for (label, args) in runs {
            let r = try CLI.run(args + ["--format", "json"], timeout: 20)
            #expect(r.status == 0, "\(label): \(r)")
            let doc = try JSON.object(r.stdout)
            #expect(Self.kernel(doc)["tcp_syn_retries"] as? Int == 3, "\(label): kernel section not the namespace's: \(Self.kernel(doc))")
            #expect(Self.kernel(doc)["tcp_keepalive_time"] as? Int == 4321, "\(label): \(Self.kernel(doc))")
            let status = (doc["outcome"] as? [String: Any])?["status"] as? String
            #expect(["connected", "survived"].contains(status ?? ""), "\(label): \(status ?? "nil"): \(r)")
        }

        // inspect: the namespace's sockets (the peer's listener) and its sysctls.
        let inspect = try CLI.run(["inspect", "--netns-pid", pid, "--format", "json"])
        #expect(inspect.status == 0 || inspect.status == 1, "\(inspect)")
        let doc = try JSON.object(inspect.stdout)
        #expect(Self.kernel(doc)["tcp_syn_retries"] as? Int == 3, "\(Self.kernel(doc))")
        #expect(inspect.stdout.contains("127.0.0.1:\(ns.port)"), "the peer's listener is listed: \(inspect)")
    }

    @Test("usage: --netns with --netns-pid, with --lab, an unknown process or name")
    func usage() throws {
        let both = try CLI.run(["syn-timeout", "127.0.0.1:1", "--netns", "x", "--netns-pid", "1"])
        #expect(both.status == 2, "\(both)")
        let lab = try CLI.run(["syn-timeout", "--lab", "--netns-pid", "1"])
        #expect(lab.status == 2 && lab.stderr.contains("--lab"), "\(lab)")
        let gone = try CLI.run(["probe", "127.0.0.1:1", "--netns-pid", "999999999"])
        #expect(gone.status == 2 && gone.stderr.contains("no process"), "\(gone)")
        let unknown = try CLI.run(["keepalive-test", "127.0.0.1:1", "--netns", "cdtest-no-such-namespace"])
        #expect(unknown.status == 3 && unknown.stderrLines.count == 1, "\(unknown)")
        // Our own namespace by pid: no setns needed, the run is the plain one.
        let own = try CLI.run(["syn-timeout", "127.0.0.1:1", "--netns-pid", String(getpid()), "--format", "json"])
        #expect(own.status == 1, "refused like a plain run: \(own)")
    }
}
