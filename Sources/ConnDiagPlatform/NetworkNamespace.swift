import Glibc
import CNetShims
import ConnDiagCore

/// Runs code with the calling thread inside a named network namespace (/var/run/netns/NAME,
/// as `ip netns add` makes). Sockets and captures opened inside stay in that namespace after
/// the thread returns, so an engine can open them there and use them from anywhere.
/// setns(CLONE_NEWNET) is per thread: the body must not hop threads (no `await` inside).
public enum NetworkNamespace {
    public static func run<T>(_ name: String?, _ body: () throws -> T) throws -> T {
        guard let name else { return try body() }
        let target: Int32
        switch Syscall.result("open(/var/run/netns/\(name))", { open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC) }) {
        case .value(let fd): target = fd
        case .error(let e): throw ConnDiagError.environment("network namespace '\(name)': \(ErrnoName.message(e.errno.rawValue))")
        case .wouldBlock, .interrupted: throw ConnDiagError.environment("network namespace '\(name)': cannot open")
        }
        defer { close(target) }
        let original: Int32
        do { original = try syscall("open(/proc/thread-self/ns/net)") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) } } catch let e as SyscallError {
            throw ConnDiagError.environment("cannot open /proc/thread-self/ns/net: \(ErrnoName.message(e.errno.rawValue))")
        }
        defer { close(original) }
        do { try syscall("setns") { CNetShims_setNetNamespace(target) } } catch let e as SyscallError {
            throw ConnDiagError.environment("cannot enter network namespace '\(name)' (needs CAP_SYS_ADMIN): \(ErrnoName.message(e.errno.rawValue))")
        }
        defer {
            // Returning must not fail: a thread left in the lab namespace would send later
            // traffic to the wrong place.
            if case .error = Syscall.result("setns", { CNetShims_setNetNamespace(original) }) {
                fatalError("cannot return to the original network namespace")
            }
        }
        return try body()
    }
}
