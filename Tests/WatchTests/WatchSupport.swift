import Foundation
import Glibc
import Testing

/// Root-only: skip on a laptop, run (and fail without root) when CI=true.
enum WatchGate {
    static var isRoot: Bool { geteuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    static var enabled: Bool { isRoot || isCI }
}

/// The built conndiag binary ($CONNDIAG_BIN or .build/debug/conndiag).
enum WatchBinary {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var path: String {
        if let b = ProcessInfo.processInfo.environment["CONNDIAG_BIN"], !b.isEmpty { return b }
        return repoRoot.appendingPathComponent(".build/debug/conndiag").path
    }
}

/// `conndiag watch` running as a child (posix_spawn, default signal dispositions), its
/// stdout in a file read as it grows; reaped by pid.
final class WatchProcess {
    let pid: pid_t
    let outPath: String
    let errPath: String
    private var reaped: Int32?

    init(_ arguments: [String]) throws {
        let tag = "/tmp/cdwatch-\(getpid())-\(UUID().uuidString.prefix(8))"
        outPath = tag + ".out"; errPath = tag + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(); sigemptyset(&empty)
        var defaults = sigset_t(); sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let exe = WatchBinary.path
        let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, &attr, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        pid = child
    }

    deinit {
        if reaped == nil { kill(pid, SIGKILL); var s: Int32 = 0; waitpid(pid, &s, 0) }
        unlink(outPath); unlink(errPath)
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The NDJSON records so far.
    var records: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until a record satisfies `match` (true) or `timeout` passes (false).
    func waitFor(timeout: Double, _ match: ([String: Any]) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if records.contains(where: match) { return true }
            usleep(50_000)
        }
        return false
    }

    /// Sends `signal` and waits for the exit; returns the exit status (128+n when killed).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Double = 10) -> Int32 {
        if let r = reaped { return r }
        kill(pid, signal)
        let end = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < end {
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                reaped = code
                return code
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        reaped = 137
        return 137
    }
}

/// Runs a command inside a namespace and returns (exit status, stdout).
@discardableResult
func runIn(_ namespace: String, _ arguments: [String]) throws -> (status: Int32, stdout: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    p.arguments = ["netns", "exec", namespace] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Starts a command inside a namespace without waiting (killed by the caller).
func startIn(_ namespace: String, _ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    p.arguments = ["netns", "exec", namespace] + arguments
    p.standardOutput = Pipe()
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

/// `conndiag analyze FILE --format json`: mechanism per "client>server".
func analyzeMechanisms(_ pcap: String) throws -> [String: String] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: WatchBinary.path)
    p.arguments = ["analyze", pcap, "--format", "json"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    var result: [String: String] = [:]
    for c in (doc["connections"] as? [[String: Any]]) ?? [] {
        guard let client = c["client"] as? String, let server = c["server"] as? String,
              let outcome = c["outcome"] as? [String: Any], let m = outcome["mechanism"] as? String else { continue }
        result["\(client)>\(server)"] = m
    }
    return result
}

extension Dictionary where Key == String, Value == Any {
    var type: String? { self["type"] as? String }
    var phase: String? { self["phase"] as? String }
    var mechanism: String? { self["mechanism"] as? String }
    var connectionKey: String { "\(self["client"] as? String ?? "?")>\(self["server"] as? String ?? "?")" }
    var time: Double { self["time"] as? Double ?? 0 }
}
