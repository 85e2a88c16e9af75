import Foundation
import Glibc
import CNetShims
import ConnDiagCore

/// Runs a host tool (`ip`, `iptables`) with arguments, never through a shell, and turns a
/// failure into a one-line environment error quoting the tool's own message.
/// posix_spawn directly: Foundation's Process costs ~75 ms a spawn here, and a lab makes
/// a dozen of them.
enum HostCommand {
    @discardableResult
    static func run(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        let path = try locate(arguments[0])
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw ConnDiagError.environment("pipe: \(ErrnoName.message(errno))") }
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
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        if code != 0 && !allowFailure {
            let message = err.split(separator: "\n").first.map(String.init) ?? "exit \(code)"
            throw ConnDiagError.environment("\(arguments.joined(separator: " ")): \(message)")
        }
        return out
    }

    /// Reads both pipes to EOF without deadlocking on either.
    static func drain(_ a: Int32, _ b: Int32) -> (String, String) {
        var bufs: [[UInt8]] = [[], []]
        var open = [true, true]
        var chunk = [UInt8](repeating: 0, count: 4096)
        while open[0] || open[1] {
            var fds = [pollfd(fd: open[0] ? a : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: open[1] ? b : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; break }
            for i in 0..<2 where open[i] && fds[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, 4096) }
                if n > 0 { bufs[i].append(contentsOf: chunk[0..<n]) } else if n == 0 || errno != EINTR { open[i] = false }
            }
        }
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
