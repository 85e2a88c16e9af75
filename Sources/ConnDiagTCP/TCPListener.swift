import Glibc
import ConnDiagPlatform

/// A listening socket. The kernel completes handshakes into its backlog without accept(),
/// which is all a SYN-level peer needs; `acceptOne` serves simple peers in tests.
public final class TCPListener {
    public private(set) var fd: Int32
    public let address: SocketAddress

    public init(address: SocketAddress, v6Only: Bool = false, backlog: Int32 = 128) throws {
        fd = try syscall("socket") { socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var one: Int32 = 1
        let fd = self.fd
        do {
            // Best effort, as a listener for a SYN-level peer works without either.
            _ = Syscall.result("setsockopt(SO_REUSEADDR)") { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
            if v6Only { _ = Syscall.result("setsockopt(IPV6_V6ONLY)") { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) } }
            try address.withSockAddr { sa, len in try syscall("bind(\(address))") { Glibc.bind(fd, sa, len) } }
            try syscall("listen") { listen(fd, backlog) }
        } catch { Glibc.close(fd); throw error }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in Syscall.result("getsockname") { getsockname(fd, sa, &len) } } }
        self.address = withUnsafePointer(to: &storage) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(storage: $0) } } ?? address
    }

    deinit { close() }

    public func close() { if fd >= 0 { Glibc.close(fd); fd = -1 } }

    /// Blocking accept; returns the connected socket's fd.
    public func acceptOne() throws -> Int32 {
        try syscall("accept") { accept(fd, nil, nil) }
    }
}
