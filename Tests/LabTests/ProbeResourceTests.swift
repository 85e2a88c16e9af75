import Foundation
import Testing
import Glibc

/// probe over 5,000 targets never holds more descriptors than --concurrency plus a constant:
/// each finished target's socket is closed before the next one opens. Sampled from outside
/// through /proc/PID/fd while the run goes on.
@Suite struct ProbeResourceTests {
    /// A loopback listener; `accepting` serves connections on a thread, otherwise the backlog
    /// fills and later SYNs go unanswered (connect timeouts: the longest-held sockets).
    final class Listener {
        let fd: Int32
        let port: Int
        init(accepting: Bool) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = self.fd
            let ok = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, len) == 0 && listen(fd, accepting ? 4096 : 0) == 0 && getsockname(fd, $0, &len) == 0
                }
            }
            guard ok else { throw POSIXError(.EADDRINUSE) }
            port = Int(UInt16(bigEndian: addr.sin_port))
            if accepting {
                Thread {
                    while true {
                        let c = accept(fd, nil, nil)
                        if c < 0 { if errno == EINTR { continue } else { return } }
                        close(c)
                    }
                }.start()
            }
        }
        deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    static func openFDs(_ pid: pid_t) -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    @Test func fiveThousandTargetsStayWithinTheConcurrencyBound() throws {
        let open = try Listener(accepting: true)
        let full = try Listener(accepting: false)
        // A closed port: bind one, note it, close it.
        let closedPort = try { let l = try Listener(accepting: false); return l.port }()
        var lines: [String] = []
        for i in 0..<5000 {
            switch i % 10 {
            case 0: lines.append("127.0.0.1:\(full.port)")    // backlog full: times out
            case 1, 2, 3, 4: lines.append("127.0.0.1:\(open.port)")
            default: lines.append("127.0.0.\(1 + i % 200):\(closedPort)")
            }
        }
        let list = FileManager.default.temporaryDirectory.appendingPathComponent("cdtest-\(getpid())-targets.txt").path
        try lines.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        defer { unlink(list) }

        let concurrency = 32
        let run = try SpawnedProcess(TimingLabMatrixTests.binary, ["probe", "--targets", list, "--concurrency", "\(concurrency)",
                                                                  "--connect-timeout", "200ms", "--format", "json"])
        var peak = 0, samples = 0
        while kill(run.pid, 0) == 0 {
            if let n = Self.openFDs(run.pid) { peak = max(peak, n); samples += 1 } else { break }
            if (try? String(contentsOfFile: "/proc/\(run.pid)/stat", encoding: .utf8))?.contains(") Z") == true { break }
            usleep(1_000)
        }
        #expect(run.wait() == .exited(1), "refused and timed-out targets make the run fail")
        let doc = try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any])
        let targets = doc["targets"] as? [[String: Any]] ?? []
        #expect(targets.count == 5000)
        let statuses = Dictionary(grouping: targets, by: { ($0["outcome"] as? [String: Any])?["status"] as? String ?? "?" }).mapValues(\.count)
        #expect(statuses["connected"] ?? 0 >= 1500, "\(statuses)")
        #expect(statuses["refused"] ?? 0 >= 2000, "\(statuses)")
        #expect(statuses["timeout"] ?? 0 >= 400, "\(statuses)")
        #expect(doc["peak_concurrency"] as? Int ?? 0 <= concurrency)
        #expect(samples > 100, "the sampler saw the run (\(samples) samples)")
        // stdio, the interrupt pipe and a few runtime descriptors, plus one socket per target.
        #expect(peak <= concurrency + 16, "peak \(peak) descriptors for --concurrency \(concurrency)")
    }
}
