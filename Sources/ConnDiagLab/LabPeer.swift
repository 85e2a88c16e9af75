import FoundationEssentials
import Glibc
import CNetShims
import ConnDiagCore
import ConnDiagTCP
import ConnDiagPlatform

/// A real peer process (nghttpd, a Python server, an echo peer) running inside a lab
/// namespace through `ip netns exec`, which also mounts /etc/netns/NAME/{hosts,resolv.conf}.
/// Spawned with an empty signal mask and default dispositions (a test runner's blocked
/// signals must not reach the peer, or --peer-close's SIGUSR1 would never arrive).
/// Stopped by PID, never by name.
public final class LabPeer {
    public let namespace: String
    public let arguments: [String]
    public let pid: pid_t
    private var exitStatus: Int32?
    private let stderrFD: Int32

    init(namespace: String, arguments: [String], environment: [String: String]) throws {
        self.namespace = namespace
        self.arguments = arguments
        let ip = try HostCommand.locate("ip")
        var errPipe: [Int32] = [0, 0]
        if case .error(let e) = Syscall.result("pipe", { pipe(&errPipe) }) {
            throw ConnDiagError.environment("pipe: \(ErrnoName.message(e.errno.rawValue))")
        }
        // Only the read end: the peer's stderr stays blocking.
        let readEnd = errPipe[0]
        if case .value(let flags) = Syscall.result("fcntl(F_GETFL)", { fcntl(readEnd, F_GETFL) }) {
            _ = Syscall.result("fcntl(F_SETFL)") { fcntl(readEnd, F_SETFL, flags | O_NONBLOCK) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        posix_spawn_file_actions_addclose(&actions, errPipe[0])
        posix_spawn_file_actions_addclose(&actions, errPipe[1])
        // Nothing else of ours reaches the peer. It outlives a SIGKILLed conndiag, so an
        // inherited descriptor would stay open: a socket of another lane's engine (the
        // connection would not close when the engine closes it), or the socketpair
        // Foundation's Process uses to notice that conndiag exited (its parent would wait
        // for a killed conndiag until the peer is swept).
        CNetShims_spawnCloseFrom(&actions, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        // Its own process group: a Ctrl-C meant for conndiag must not kill the peer before
        // conndiag has written its report and stopped the peer itself.
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let argv: [UnsafeMutablePointer<CChar>?] = ([ip, "netns", "exec", namespace] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, ip, &actions, &attr, argv, envp)
        close(errPipe[1])
        stderrFD = errPipe[0]
        guard rc == 0 else {
            close(errPipe[0])
            throw ConnDiagError.environment("cannot start peer \(arguments.first ?? ""): \(ErrnoName.message(rc))")
        }
        pid = child
    }

    deinit {
        stop()
        close(stderrFD)
    }

    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        guard case .value(let r) = Syscall.result("waitpid(\(pid), WNOHANG)", { waitpid(pid, &status, WNOHANG) }) else { return false }
        if r == pid { exitStatus = status; return false }
        return r == 0
    }

    /// Sends `signal` (SIGTERM, SIGQUIT, SIGKILL, SIGUSR1...) to the peer.
    public func send(signal: Int32) { if isRunning { kill(pid, signal) } }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds; always reaped.
    public func stop(grace: Double = 1.0) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let until = RunClock.nanos(CLOCK_MONOTONIC) + Int64(grace * 1e9)
        while isRunning && RunClock.nanos(CLOCK_MONOTONIC) < until { usleep(10_000) }
        if isRunning {
            kill(pid, SIGKILL)
            if case .value(let status) = Syscall.waitForExit(pid) { exitStatus = status }
        }
    }

    /// What the peer wrote to stderr so far (for error messages).
    public func stderrTail() -> String {
        let out = Syscall.readAvailable(stderrFD)
        return String(decoding: out.suffix(2000), as: UTF8.self)
    }

    /// Waits until a TCP connect from inside the peer's namespace to `port` succeeds.
    func waitUntilListening(port: UInt16, lab: Lab, timeout: Double = 15) throws {
        let until = RunClock.nanos(CLOCK_MONOTONIC) + Int64(timeout * 1e9)
        while RunClock.nanos(CLOCK_MONOTONIC) < until {
            guard isRunning else {
                let err = stderrTail().split(separator: "\n").last.map(String.init) ?? "no message"
                throw ConnDiagError.environment("peer \(arguments.first ?? "") exited: \(err)")
            }
            let ok = (try? NetworkNamespace.run(namespace) { () -> Bool in
                let s = try TCPSocket(family: AF_INET)
                defer { s.close() }
                if try s.startConnect(to: SocketAddress(ip: lab.serverIPv4, port: port)) { return true }
                let reactor = Reactor(clock: RunClock(), interrupt: nil)
                var connected = false
                reactor.register(fd: s.fd, interest: .writable) { r in connected = r.contains(.writable) && s.pendingError() == 0 }
                reactor.runOnce(timeout: 0.2)
                return connected
            }) ?? false
            if ok { return }
            usleep(50_000)
        }
        throw ConnDiagError.environment("peer \(arguments.first ?? "") did not listen on port \(port) within \(Int(timeout)) s")
    }
}
