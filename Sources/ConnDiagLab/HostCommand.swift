import FoundationEssentials
import Glibc
import CNetShims
import ConnDiagCore
import ConnDiagPlatform

/// Runs a host tool (`ip`, `iptables`) with arguments, never through a shell, and turns a
/// failure into a one-line environment error quoting the tool's own message.
/// posix_spawn directly: Foundation's Process costs ~75 ms a spawn here, and a lab makes
/// a dozen of them.
enum HostCommand {
    @discardableResult
    static func run(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        let path = try locate(arguments[0])
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        for result in [Syscall.result("pipe", { pipe(&outPipe) }), Syscall.result("pipe", { pipe(&errPipe) })] {
            if case .error(let e) = result { throw ConnDiagError.environment("pipe: \(ErrnoName.message(e.errno.rawValue))") }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        // Nor any other descriptor of ours (see LabPeer: `ip netns exec` children can outlive us).
        CNetShims_spawnCloseFrom(&actions, 3)
        // The child must not inherit our SIGINT/SIGTERM handlers' pipe or ignored SIGPIPE.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments.dropFirst()).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        close(outPipe[1]); close(errPipe[1])
        defer { close(outPipe[0]); close(errPipe[0]) }
        guard rc == 0 else { throw ConnDiagError.environment("cannot run \(arguments[0]): \(ErrnoName.message(rc))") }
        let (out, err) = drain(outPipe[0], errPipe[0])
        var status: Int32 = 0
        if case .value(let s) = Syscall.waitForExit(pid) { status = s }
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        if code != 0 && !allowFailure {
            let message = err.split(separator: "\n").first.map(String.init) ?? "exit \(code)"
            throw ConnDiagError.environment("\(arguments.joined(separator: " ")): \(message)")
        }
        return out
    }

    /// Reads both pipes to EOF without deadlocking on either. Deaf to the interrupt: the
    /// child gets the signal too, and its output is what explains how it ended.
    static func drain(_ a: Int32, _ b: Int32) -> (String, String) {
        var bufs: [[UInt8]] = [[], []]
        var open = [true, true]
        var chunk = [UInt8](repeating: 0, count: 4096)
        let reactor = Reactor(clock: RunClock(), interrupt: nil)
        for (i, fd) in [a, b].enumerated() {
            var registration: Reactor.Registration?
            registration = reactor.register(fd: fd, interest: .readable) { _ in
                if case .value(let n) = chunk.withUnsafeMutableBytes({ Syscall.read(fd, into: $0) }), n > 0 {
                    bufs[i].append(contentsOf: chunk[0..<n])
                    return
                }
                open[i] = false
                if let registration { reactor.deregister(registration) }
            }
        }
        while open[0] || open[1] { reactor.runOnce(timeout: nil) }
        return (String(decoding: bufs[0], as: UTF8.self), String(decoding: bufs[1], as: UTF8.self))
    }

    /// Absolute path of a tool in the usual system directories (PATH may be minimal under sudo).
    static func locate(_ tool: String) throws -> String {
        if tool.hasPrefix("/") { return tool }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
        for d in dirs where access(d + "/" + tool, X_OK) == 0 { return d + "/" + tool }
        throw ConnDiagError.environment("\(tool) not found (install iproute2 and iptables)")
    }
}
