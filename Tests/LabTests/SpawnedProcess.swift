import Foundation
import Glibc

// Glibc's module map leaves pipe2 out; O_CLOEXEC at creation matters here, since other
// threads spawn children at the same moment and must not inherit this pipe.
@_silgen_name("pipe2") private func sys_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

// glibc ≥ 2.34: close every descriptor from 3 up in the child. The test process holds other
// tests' descriptors (parallel suites), which the child must not inherit or count.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func sys_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A child process started with posix_spawn and reaped with waitpid on its own pid.
/// Foundation's Process misses exits when many children start and end at once from several
/// threads (the interrupt storm): the child stays a zombie and waitUntilExit never returns.
final class SpawnedProcess {
    let pid: pid_t
    private var stdoutFD: Int32 = -1
    private(set) var output = Data()
    private var reader: Thread?
    private let done = DispatchSemaphore(value: 0)

    /// Starts `executable` with `arguments`; stdout is collected unless `discardOutput`.
    init(_ executable: String, _ arguments: [String], discardOutput: Bool = false) throws {
        var fds: [Int32] = [-1, -1]
        if !discardOutput { guard sys_pipe2(&fds, O_CLOEXEC) == 0 else { throw POSIXError(.EMFILE) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if discardOutput {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = sys_addclosefrom(&actions, 3)
        // Default dispositions and an empty mask: the child must die or exit on SIGINT/SIGTERM
        // as it would from a shell, whatever the test runner blocks or ignores.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(); sigemptyset(&empty)
        var defaults = sigset_t(); sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, environ)
        if !discardOutput { close(fds[1]) }
        guard rc == 0 else {
            if !discardOutput { close(fds[0]) }
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL)
        }
        pid = child
        if !discardOutput {
            stdoutFD = fds[0]
            let fd = fds[0]
            let t = Thread { [unowned self] in
                var buf = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(fd, &buf, buf.count)
                    if n > 0 { self.output.append(contentsOf: buf[0..<n]); continue }
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                close(fd)
                self.done.signal()
            }
            reader = t
            t.start()
        } else {
            done.signal()
        }
    }

    /// How the child ended.
    enum Ending: Equatable { case exited(Int32), signaled(Int32) }

    /// Waits for the child and for the end of its stdout.
    func wait() -> Ending {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        done.wait()
        let low = status & 0x7f
        return low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }
}
