import Foundation
import Glibc
import Testing

/// Root-only tests skip on a laptop and run (and fail without root) when CI=true.
enum InspectGate {
    static var isRoot: Bool { geteuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var enabled: Bool { isRoot || isCI }
}

struct InspectHarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Python peers: a listener that accepts and holds every connection, and a client that sets
/// the options it is told to (printing "ready" once they are set) and then idles or writes.
enum Peers {
    static let listener = """
    import socket, sys
    l = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if len(sys.argv) > 3: l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[3]))  # accepted sockets inherit it
    l.bind((sys.argv[1], int(sys.argv[2]))); l.listen(64)
    print("ready", flush=True)
    held = []
    while True:
        c, _ = l.accept(); held.append(c)
    """

    /// argv: host port mode(idle|write|syn) keepalive(0|1) keepidle keepintvl keepcnt user_timeout_ms nodelay(0|1) [syncnt]
    /// With mode syn: sets TCP_SYNCNT, prints "ready" and then connects (to a dropped port).
    static let client = """
    import socket, sys, time
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ka, idle, intvl, cnt, ut, nd = (int(x) for x in sys.argv[4:10])
    if mode == "syn":
        s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, int(sys.argv[10]))
        print("ready", flush=True)
        try:
            s.connect((host, port))
        except OSError as e:
            print("error", e.errno, flush=True)
        time.sleep(30)
    s = socket.create_connection((host, port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, ka)
    if idle: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    if intvl: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    if cnt: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)
    if ut: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, ut)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, nd)
    print("ready", flush=True)
    try:
        while True:
            if mode == "write":
                s.send(b"x" * 100); time.sleep(0.2)
            elif mode == "flood":
                s.sendall(b"x" * 65536)
            elif not s.recv(100):
                break
    except OSError as e:
        print("error", e.errno, flush=True)
        time.sleep(30)
    """
}

extension Peers {
    /// One process holding `n` loopback connections (2n sockets) with keepalive on the client side.
    static let many = """
    import socket, sys, resource, time
    port, n = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_NOFILE, (3 * n + 100, 3 * n + 100))
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port)); l.listen(4096)
    held = []
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        a, _ = l.accept()
        held += [c, a]
    print("ready", flush=True)
    time.sleep(600)
    """
}

extension Peers {
    /// Prints "ready", waits argv[4] s, then opens argv[3] connections to argv[1]:argv[2] with
    /// keepalive 1 s / 1 s x 2 and holds them: sockets opened after `--follow` started.
    static let opener = """
    import socket, sys, time
    host, port, n, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    print("ready", flush=True)
    time.sleep(delay)
    held = []
    for i in range(n):
        c = socket.create_connection((host, port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
        held.append(c)
    time.sleep(60)
    """
}

/// A child process whose stdout is read line by line (to wait for "ready").
final class PeerProcess {
    let process = Process()
    let pipe = Pipe()
    var pid: Int32 { process.processIdentifier }

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for a line equal to `line` on stdout.
    func waitFor(_ line: String, timeout: Double = 30) throws {
        let fd = pipe.fileHandleForReading.fileDescriptor
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            var buf = [UInt8](repeating: 0, count: 256)
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            text += String(decoding: buf[..<n], as: UTF8.self)
            if text.split(separator: "\n").contains(where: { $0 == line }) { return }
        }
        throw InspectHarnessError("\(process.arguments ?? []) did not print \(line) (got '\(text)')")
    }

    func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A network namespace made for one test (`cdtest-PID-inspect-N`), its peers and its
/// firewall rules; `destroy()` kills the peers and deletes it (always call it in a defer).
final class InspectLab {
    static var counter = 0
    static let lock = NSLock()
    let name: String
    var peers: [PeerProcess] = []

    init() throws {
        InspectLab.sweepStale()
        let n = InspectLab.lock.withLock { InspectLab.counter += 1; return InspectLab.counter }
        name = "cdtest-\(getpid())-inspect-\(n)"
        try InspectLab.sh(["ip", "netns", "add", name])
        try InspectLab.sh(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// A peer inside the namespace (`ip netns exec` execs, so the pid is python's).
    func start(_ script: String, _ arguments: [String]) throws -> PeerProcess {
        let p = try PeerProcess("/usr/bin/env", ["ip", "netns", "exec", name, "python3", "-c", script] + arguments)
        peers.append(p)
        try p.waitFor("ready")
        return p
    }

    /// A sysctl of the namespace only (net.* sysctls are per namespace).
    func sysctl(_ setting: String) throws { try InspectLab.sh(["ip", "netns", "exec", name, "sysctl", "-qw", setting]) }

    /// iptables inside the namespace only; the root namespace's firewall is never touched.
    func iptables(_ arguments: [String]) throws { try InspectLab.sh(["ip", "netns", "exec", name, "iptables"] + arguments) }

    /// Deletes the `cdtest-PID-inspect-*` namespaces a killed run left (its pid is gone).
    static func sweepStale() {
        let names = (try? sh(["ip", "netns", "list"])) ?? ""
        for line in names.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count >= 4, parts[0] == "cdtest", parts[2] == "inspect", let pid = Int32(parts[1]),
                  pid != getpid(), kill(pid, 0) != 0 && errno == ESRCH else { continue }
            _ = try? sh(["ip", "netns", "del", name])
        }
    }

    func destroy() {
        for p in peers { p.stop() }
        _ = try? InspectLab.sh(["ip", "netns", "del", name])
    }

    @discardableResult
    static func sh(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if p.terminationStatus != 0 { throw InspectHarnessError("\(arguments.joined(separator: " ")): \(text)") }
        return text
    }
}

/// The built conndiag binary (`$CONNDIAG_BIN` or .build/debug/conndiag).
enum ConnDiagBinary {
    static var path: String {
        if let b = ProcessInfo.processInfo.environment["CONNDIAG_BIN"], !b.isEmpty { return b }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/conndiag").path
    }

    /// Runs `executable arguments`, returning exit status and stdout.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    static func json(_ text: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { throw InspectHarnessError("not a JSON object: \(text)") }
        return o
    }
}
