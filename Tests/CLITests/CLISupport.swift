import Foundation
import Glibc
import Testing

/// Runs the real conndiag binary as a subprocess. The binary is `$CONNDIAG_BIN` when set,
/// else `<repo>/.build/debug/conndiag`; these tests never link the executable's code.
enum CLI {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // CLITests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // repo root

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["CONNDIAG_BIN"], !b.isEmpty { return b }
        return repoRoot.appendingPathComponent(".build/debug/conndiag").path
    }

    static var isRoot: Bool { geteuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    /// Root-only tests skip on a laptop and run (and fail without root) in CI.
    static var privilegedEnabled: Bool { isRoot || isCI }

    struct Result: CustomStringConvertible {
        var status: Int32
        /// True when the process ended by a signal (status then holds the signal number).
        var signaled: Bool
        var stdout: String
        var stderr: String
        var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        var description: String {
            "exit \(signaled ? "signal " : "")\(status)\n--- stdout ---\n\(stdout.prefix(4000))\n--- stderr ---\n\(stderr.prefix(4000))"
        }
    }

    /// A started process whose stdout and stderr go to temporary files (no pipe can fill up).
    final class Running {
        let process: Process
        let outURL: URL
        let errURL: URL
        var pid: Int32 { process.processIdentifier }

        /// What the child's blocked-signal mask holds for SIGINT and SIGTERM. Foundation's
        /// Process passes the spawning thread's mask on, and swift-testing's worker threads
        /// block most signals, so `.inherit` gives an arbitrary mask.
        enum InterruptMask { case inherit, unblocked, blocked }

        init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
             unsetting: [String] = [], stdin: FileHandle? = nil, stdout: FileHandle? = nil,
             interruptMask: InterruptMask = .unblocked) throws {
            let dir = FileManager.default.temporaryDirectory
            let tag = "cdcli-\(getpid())-\(UUID().uuidString.prefix(8))"
            outURL = dir.appendingPathComponent(tag + ".out")
            errURL = dir.appendingPathComponent(tag + ".err")
            FileManager.default.createFile(atPath: outURL.path, contents: nil)
            FileManager.default.createFile(atPath: errURL.path, contents: nil)
            process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            // Deterministic output: no colour unless a test asks, fixed help width.
            env["COLUMNS"] = "100"
            env["LINES"] = "40"
            for (k, v) in environment { env[k] = v }
            for k in unsetting { env[k] = nil }
            process.environment = env
            process.standardInput = stdin ?? FileHandle.nullDevice
            process.standardOutput = try stdout ?? FileHandle(forWritingTo: outURL)
            process.standardError = try FileHandle(forWritingTo: errURL)
            var interrupts = sigset_t()
            sigemptyset(&interrupts)
            sigaddset(&interrupts, SIGINT)
            sigaddset(&interrupts, SIGTERM)
            var saved = sigset_t()
            switch interruptMask {
            case .inherit: break
            case .unblocked: pthread_sigmask(SIG_UNBLOCK, &interrupts, &saved)
            case .blocked: pthread_sigmask(SIG_BLOCK, &interrupts, &saved)
            }
            defer { if interruptMask != .inherit { pthread_sigmask(SIG_SETMASK, &saved, nil) } }
            try process.run()
        }

        func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

        /// A test that threw before wait() must not leave the process or its files behind.
        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }

        /// Waits up to `timeout` seconds; kills the process (SIGKILL) if it is still running.
        func wait(timeout: Double) -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            var timedOut = false
            if process.isRunning {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            } else {
                process.waitUntilExit()
            }
            let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
            var err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
            if timedOut { err += "\n[test harness: killed after \(timeout) s]" }
            return Result(status: process.terminationStatus,
                          signaled: process.terminationReason == .uncaughtSignal,
                          stdout: out, stderr: err)
        }
    }

    /// Runs conndiag with the arguments and waits for it.
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: FileHandle? = nil,
                    timeout: Double = 20) throws -> Result {
        try Running(binary, arguments, environment: environment, stdin: stdin).wait(timeout: timeout)
    }

    /// Runs any executable (ip, setpriv, ...) and waits.
    static func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                        timeout: Double = 20) throws -> Result {
        try Running(executable, arguments, environment: environment).wait(timeout: timeout)
    }

    /// Runs a host tool found on PATH (ip, ss) and returns stdout; throws on a non-zero exit.
    @discardableResult
    static func sh(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        let r = try runTool("/usr/bin/env", arguments, timeout: 20)
        if r.status != 0 && !allowFailure {
            throw HarnessError("\(arguments.joined(separator: " ")) failed: \(r)")
        }
        return r.stdout
    }

    static func netnsNames() -> [String] {
        let out = (try? sh(["ip", "netns", "list"], allowFailure: true)) ?? ""
        return out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// The namespaces the lab of process `pid` made (cdlab-<pid>-<n>-c / -s): the pid in the
    /// name keeps lab tests running in parallel out of the count.
    static func labNamespaces(of pid: Int32) -> [String] {
        netnsNames().filter { $0.hasPrefix("cdlab-\(pid)-") }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

// MARK: - JSON

enum JSON {
    static func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let data = Data(text.utf8)
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            Issue.record("not valid JSON: \(error)\n\(text.prefix(2000))", sourceLocation: sourceLocation)
            throw error
        }
        return try #require(any as? [String: Any], "top level is not an object: \(text.prefix(500))",
                            sourceLocation: sourceLocation)
    }

    static func events(_ doc: [String: Any]) -> [[String: Any]] {
        (doc["events"] as? [Any])?.compactMap { $0 as? [String: Any] } ?? []
    }

    static func kinds(_ doc: [String: Any]) -> [String] { events(doc).compactMap { $0["kind"] as? String } }

    static func isNull(_ v: Any?) -> Bool { v is NSNull }
}

// MARK: - Loopback sockets made by the test process

/// A TCP socket on loopback. `listening: true` accepts connections (the kernel completes
/// the handshake from the backlog); `listening: false` only holds the port, so a SYN to it
/// is answered with RST and no other process can take the port meanwhile.
final class LoopbackPort {
    let fd: Int32
    let port: UInt16
    let ipv6: Bool

    init(listening: Bool, ipv6: Bool = false) throws {
        self.ipv6 = ipv6
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw HarnessError("socket(): errno \(errno)") }
        if ipv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_addr = in6addr_loopback
            a.sin6_port = 0
            let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            guard rc == 0 else { close(fd); throw HarnessError("bind([::1]:0): errno \(errno)") }
            var out = sockaddr_in6()
            var len = socklen_t(MemoryLayout<sockaddr_in6>.size)
            _ = withUnsafeMutablePointer(to: &out) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &len) } }
            port = UInt16(bigEndian: out.sin6_port)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            a.sin_port = 0
            let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { close(fd); throw HarnessError("bind(127.0.0.1:0): errno \(errno)") }
            var out = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &out) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &len) } }
            port = UInt16(bigEndian: out.sin_port)
        }
        if listening {
            guard listen(fd, 64) == 0 else { close(fd); throw HarnessError("listen(): errno \(errno)") }
        }
    }

    var target: String { ipv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)" }

    deinit { close(fd) }
}

// MARK: - Pseudo-terminal (colour and TTY defaults only show on a terminal)

final class PseudoTerminal {
    let master: Int32
    let slave: FileHandle

    init() throws {
        // posix_openpt/grantpt/unlockpt need _XOPEN_SOURCE, which Glibc's module does not
        // define; the Linux ioctls they wrap do the same (TIOCSPTLCK, TIOCGPTN from <asm/ioctls.h>).
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, UInt(0x4004_5431), &unlock) == 0, ioctl(master, UInt(0x8004_5430), &number) == 0 else {
            throw HarnessError("cannot open a pseudo-terminal: errno \(errno)")
        }
        let path = "/dev/pts/\(number)"
        let s = open(path, O_RDWR | O_NOCTTY)
        guard s >= 0 else { throw HarnessError("open(\(path)): errno \(errno)") }
        // Raw-ish output: no \n -> \r\n translation, so lines compare as written.
        var t = termios()
        if tcgetattr(s, &t) == 0 {
            t.c_oflag &= ~tcflag_t(OPOST)
            _ = tcsetattr(s, TCSANOW, &t)
        }
        var ws = winsize(ws_row: 40, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(s, UInt(TIOCSWINSZ), &ws)
        slave = FileHandle(fileDescriptor: s, closeOnDealloc: true)
    }

    /// Everything written to the terminal so far (call after the child exited and the
    /// slave was closed in this process).
    func drain() -> String {
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buf, buf.count)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    deinit { close(master) }
}
