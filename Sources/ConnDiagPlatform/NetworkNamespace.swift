import Glibc
import CNetShims
import ConnDiagCore

/// Runs code with the calling thread inside another network namespace: a named one
/// (/var/run/netns/NAME, as `ip netns add` makes) or a process's (/proc/PID/ns/net).
/// Sockets and captures opened inside stay in that namespace after the thread returns, so an
/// engine can open them there and use them from anywhere; /proc/sys/net files opened inside
/// read that namespace's sysctls (a file answers for the namespace of the thread that opened
/// it, checked on 6.18). Threads started inside inherit the namespace.
/// setns(CLONE_NEWNET) is per thread: the body must not hop threads (no `await` inside).
public enum NetworkNamespace {
    /// Which network namespace to enter.
    public enum Target: Sendable, Equatable, CustomStringConvertible {
        /// `ip netns add NAME`: /var/run/netns/NAME.
        case named(String)
        /// The namespace process PID lives in (a container's, a pod's).
        case process(Int32)

        public var path: String {
            switch self {
            case .named(let name): return "/var/run/netns/\(name)"
            case .process(let pid): return "/proc/\(pid)/ns/net"
            }
        }

        public var description: String {
            switch self {
            case .named(let name): return "network namespace '\(name)'"
            case .process(let pid): return "the network namespace of pid \(pid)"
            }
        }
    }

    public static func run<T>(_ name: String?, _ body: () throws -> T) throws -> T {
        try run(name.map(Target.named), body)
    }

    public static func run<T>(_ target: Target?, _ body: () throws -> T) throws -> T {
        guard let target else { return try body() }
        let fd: Int32
        switch Syscall.result("open(\(target.path))", { open(target.path, O_RDONLY | O_CLOEXEC) }) {
        case .value(let v): fd = v
        case .error(let e) where e.errno.rawValue == ENOENT:
            if case .process(let pid) = target { throw ConnDiagError.usage("no process \(pid)") }
            throw ConnDiagError.environment("\(target): no such namespace (\(target.path))")
        case .error(let e): throw ConnDiagError.environment("\(target): \(ErrnoName.message(e.errno.rawValue))")
        case .wouldBlock, .interrupted: throw ConnDiagError.environment("\(target): cannot open")
        }
        defer { close(fd) }
        let original: Int32
        do { original = try syscall("open(/proc/thread-self/ns/net)") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) } } catch let e as SyscallError {
            throw ConnDiagError.environment("cannot open /proc/thread-self/ns/net: \(ErrnoName.message(e.errno.rawValue))")
        }
        defer { close(original) }
        // Already there (a process in our own namespace, e.g. a hostNetwork pod): no setns,
        // so no CAP_SYS_ADMIN is needed.
        if sameFile(fd, original) { return try body() }
        do { try syscall("setns") { CNetShims_setNetNamespace(fd) } } catch let e as SyscallError {
            throw ConnDiagError.environment("cannot enter \(target) (needs CAP_SYS_ADMIN): \(ErrnoName.message(e.errno.rawValue))")
        }
        defer {
            // Returning must not fail: a thread left in the other namespace would send later
            // traffic to the wrong place.
            if case .error = Syscall.result("setns", { CNetShims_setNetNamespace(original) }) {
                fatalError("cannot return to the original network namespace")
            }
        }
        return try body()
    }

    /// Whether two descriptors are the same namespace (nsfs: same device and inode).
    static func sameFile(_ a: Int32, _ b: Int32) -> Bool {
        var sa = stat(), sb = stat()
        guard fstat(a, &sa) == 0, fstat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
