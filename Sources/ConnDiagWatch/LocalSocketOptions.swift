import Glibc
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagInspect
import ConnDiagPacket

/// The options of a connection's local end, read as `inspect` reads them: sock_diag finds the
/// socket by its 4-tuple in the watched namespace, /proc finds the process holding it, and
/// pidfd_getfd + getsockopt read its keepalive, TCP_USER_TIMEOUT and TCP_SYNCNT. Asked only
/// when a warning is about to be made, so a busy host costs nothing per packet.
final class LocalSocketOptions {
    /// The options found, or nil with the reason they are unknown.
    struct Lookup {
        var options: ApplicationOptions?
        /// "pid 41 (curl)" when found; else why not ("no socket in this namespace", ...).
        var source: String
    }

    private let dump: SockDiagDump?
    private let unavailable: String?
    private var cache: [String: Lookup] = [:]
    static let lookupsPerSecond = 20
    private var budgetSecond: Int64 = -1
    private var lookupsLeft = 0

    /// Opens the sock_diag socket in the namespace the calling thread is in.
    init(enabled: Bool) {
        guard enabled else { dump = nil; unavailable = "not read (--no-socket-options)"; return }
        do { dump = try SockDiagDump(); unavailable = nil } catch { dump = nil; unavailable = "sock_diag refused: \(error)" }
    }

    /// The options of the socket bound to `local` and connected to `remote`, if it lives here.
    func lookup(local: Endpoint, remote: Endpoint) -> Lookup {
        let key = "\(local)>\(remote)"
        if let hit = cache[key], hit.options != nil { return hit }
        // A dump and a /proc scan cost milliseconds on a busy node: a burst of warnings (a SYN
        // flood) must not stall the capture, so at most `lookupsPerSecond` are made.
        let second = RunClock.nanos(CLOCK_MONOTONIC) / 1_000_000_000
        if second != budgetSecond { budgetSecond = second; lookupsLeft = Self.lookupsPerSecond }
        guard lookupsLeft > 0 else { return Lookup(options: nil, source: "not read (more than \(Self.lookupsPerSecond) socket lookups this second)") }
        lookupsLeft -= 1
        let found = read(local: local, remote: remote)
        if cache.count > 4096 { cache.removeAll() }
        cache[key] = found
        return found
    }

    private func read(local: Endpoint, remote: Endpoint) -> Lookup {
        guard let dump else { return Lookup(options: nil, source: unavailable ?? "unknown") }
        let sockets: [SockDiagSocket]
        do { sockets = try dump.dumpTCP() } catch { return Lookup(options: nil, source: "sock_diag: \(error)") }
        func matches(_ s: SockDiagSocket) -> Bool {
            s.localPort == local.port && s.remotePort == remote.port
                && Self.same(s.localAddress, local.address) && Self.same(s.remoteAddress, remote.address)
        }
        guard let socket = sockets.first(where: matches) else {
            return Lookup(options: nil, source: "its socket is not in the watched namespace")
        }
        guard socket.inode != 0 else { return Lookup(options: nil, source: "its socket is no longer held by a process") }
        let (owners, _) = SocketOwnership.owners(of: [socket.inode], maxProcesses: 20_000, maxDescriptors: 500_000)
        guard let owner = owners[socket.inode] else {
            return Lookup(options: nil, source: "the process holding its socket was not found in /proc")
        }
        switch SocketOptionsReader(pid: owner.pid).read(fd: owner.fd) {
        case .read(let o): return Lookup(options: o, source: "pid \(owner.pid) (\(owner.command))")
        case .unknown(let why): return Lookup(options: nil, source: "pid \(owner.pid) (\(owner.command)): options \(why)")
        }
    }

    /// sock_diag gives IPv4 addresses in 4 bytes or as IPv4-mapped IPv6 in 16.
    static func same(_ bytes: [UInt8], _ address: IPAddress) -> Bool {
        let want = address.bytes
        if bytes.count >= want.count && Array(bytes.prefix(want.count)) == want { return true }
        if let a = IPAddress(bytes: bytes), let mapped = a.ipv4Mapped { return mapped == address }
        return false
    }
}
