import Glibc
import CNetShims
import ConnDiagCore
import ConnDiagPlatform

/// The network namespace a process lives in, and what conndiag opened inside it: the
/// sock_diag socket and the sysctls (both answer for the namespace of the thread that opens
/// or reads them). The setns happens on a thread started only for that, which ends inside
/// the namespace, so no thread of conndiag ever has to come back.
public struct InspectedNamespace {
    /// "net:[4026531840]", as /proc/PID/ns/net reads.
    public var identity: String
    /// Whether it is conndiag's own namespace (no setns was needed).
    public var isOwn: Bool
    public var kernel: KernelSettings
    /// nf_conntrack_tcp_timeout_established of that namespace, when conntrack is loaded.
    public var conntrackEstablishedTimeout: Int?
    public var dump: SockDiagDump
    /// The namespace's descriptor (nil for conndiag's own), kept open so that more can be
    /// opened inside it later (a capture) even after the process that led there is gone.
    let handle: NamespaceHandle?

    /// Opens the namespace of `pid` (nil: conndiag's own).
    public static func open(pid: Int32?) throws -> InspectedNamespace {
        let own = readLink("/proc/thread-self/ns/net") ?? "net:[?]"
        let path = pid.map { "/proc/\($0)/ns/net" }
        let identity = path.flatMap(readLink) ?? own
        if path == nil || identity == own {
            return InspectedNamespace(identity: own, isOwn: true, kernel: KernelSettings.read(),
                                      conntrackEstablishedTimeout: readConntrack(), dump: try SockDiagDump(), handle: nil)
        }
        let fd: Int32
        switch Syscall.result("open(\(path!))", { Glibc.open(path!, O_RDONLY | O_CLOEXEC) }) {
        case .value(let v): fd = v
        case .error(let e) where e.errno.rawValue == ENOENT: throw ConnDiagError.usage("no process \(pid!)")
        case .error(let e): throw ConnDiagError.environment("cannot open the network namespace of pid \(pid!): \(ErrnoName.message(e.errno.rawValue))")
        case .wouldBlock, .interrupted: throw ConnDiagError.environment("cannot open the network namespace of pid \(pid!)")
        }
        let handle = NamespaceHandle(fd: fd, pid: pid!)
        _ = KernelSettings.measureHZ()  // once, here: the thread below only reads the namespace's files
        return try handle.run {
            InspectedNamespace(identity: identity, isOwn: false, kernel: KernelSettings.read(),
                               conntrackEstablishedTimeout: readConntrack(), dump: try SockDiagDump(), handle: handle)
        }
    }

    /// Runs `body` with the namespace as the thread's network namespace: what it opens
    /// (sockets, packet captures) belongs to that namespace and can be used from any thread.
    public func inside<T>(_ body: @escaping () throws -> T) throws -> T {
        guard let handle else { return try body() }
        return try handle.run(body)
    }

    static func readConntrack() -> Int? {
        readSmallFile("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established").flatMap(firstInteger)
    }
}

/// An open /proc/PID/ns/net. `run` enters it on a thread started only for that, which ends
/// inside the namespace, so no thread of conndiag ever has to come back.
final class NamespaceHandle: @unchecked Sendable {
    let fd: Int32
    let pid: Int32
    init(fd: Int32, pid: Int32) { self.fd = fd; self.pid = pid }
    deinit { close(fd) }

    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        do {
            let done = ConditionLock()
            var finished = false
            var result: Result<T, Error> = .failure(ConnDiagError.environment("namespace thread did not run"))
            let fd = self.fd, pid = self.pid
            try DetachedThread.start(stackSize: 1 << 20) {
                let r: Result<T, Error>
                if CNetShims_setNetNamespace(fd) != 0 {
                    r = .failure(ConnDiagError.environment("cannot enter the network namespace of pid \(pid) (needs CAP_SYS_ADMIN): \(ErrnoName.message(errno))"))
                } else {
                    r = Result { try body() }
                }
                done.withLock { result = r; finished = true; done.signal() }
            }
            done.withLock { while !finished { done.wait() } }
            return try result.get()
        }
    }
}

/// readlink(2) as a String, nil when the link cannot be read.
func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The first line of a /proc file as an integer.
func firstInteger(_ text: String) -> Int? {
    Int(text.split(separator: "\n").first.map { String($0.filter { $0 != " " && $0 != "\t" }) } ?? "")
}
