import Glibc
import CNetShims
import ConnDiagCore
import ConnDiagPacket
import SystemPackage
import ConnDiagPlatform

/// A kernel TCP socket with the options conndiag studies. Owns its file descriptor.
public final class TCPSocket {
    public private(set) var fd: Int32
    public let family: Int32

    public init(family: Int32) throws {
        self.family = family
        fd = try syscall("socket") { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// Adopts an fd created elsewhere (accept()).
    public init(adopting fd: Int32, family: Int32) { self.fd = fd; self.family = family }

    deinit { close() }

    public func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }

    // MARK: options

    func setInt(_ level: Int32, _ name: Int32, _ value: Int, _ label: String) throws {
        var v = Int32(clamping: value)
        try syscall("setsockopt(\(label))") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    func getInt(_ level: Int32, _ name: Int32, _ label: String) throws -> Int {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        try syscall("getsockopt(\(label))") { getsockopt(fd, level, name, &v, &len) }
        return Int(v)
    }

    static let tcpLevel = Int32(IPPROTO_TCP)

    /// Applies every option that is set, naming the one the kernel rejected.
    public func apply(_ o: SocketOptions) throws {
        try setInt(SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
        if let k = o.keepalive { try setInt(SOL_SOCKET, SO_KEEPALIVE, k ? 1 : 0, "SO_KEEPALIVE") }
        if let v = o.keepIdle { try setInt(Self.tcpLevel, TCP_KEEPIDLE, v, "TCP_KEEPIDLE") }
        if let v = o.keepIntvl { try setInt(Self.tcpLevel, TCP_KEEPINTVL, v, "TCP_KEEPINTVL") }
        if let v = o.keepCnt { try setInt(Self.tcpLevel, TCP_KEEPCNT, v, "TCP_KEEPCNT") }
        if let v = o.userTimeoutMs { try setInt(Self.tcpLevel, TCP_USER_TIMEOUT, v, "TCP_USER_TIMEOUT") }
        if let v = o.synCnt { try setInt(Self.tcpLevel, TCP_SYNCNT, v, "TCP_SYNCNT") }
        if let v = o.noDelay { try setInt(Self.tcpLevel, TCP_NODELAY, v ? 1 : 0, "TCP_NODELAY") }
    }

    /// The options in force, read back from the kernel.
    public func effectiveOptions() throws -> EffectiveSocketOptions {
        EffectiveSocketOptions(
            keepalive: try getInt(SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE") != 0,
            keepIdle: try getInt(Self.tcpLevel, TCP_KEEPIDLE, "TCP_KEEPIDLE"),
            keepIntvl: try getInt(Self.tcpLevel, TCP_KEEPINTVL, "TCP_KEEPINTVL"),
            keepCnt: try getInt(Self.tcpLevel, TCP_KEEPCNT, "TCP_KEEPCNT"),
            userTimeoutMs: try getInt(Self.tcpLevel, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"),
            synCnt: try getInt(Self.tcpLevel, TCP_SYNCNT, "TCP_SYNCNT"),
            noDelay: try getInt(Self.tcpLevel, TCP_NODELAY, "TCP_NODELAY") != 0)
    }

    // MARK: addresses and connect

    public func bind(_ address: SocketAddress) throws {
        try address.withSockAddr { sa, len in try syscall("bind(\(address))") { Glibc.bind(fd, sa, len) } }
    }

    public func localAddress() throws -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                try syscall("getsockname") { getsockname(fd, sa, &len) }
            }
        }
        return withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(storage: $0) }
        }!
    }

    /// Starts a non-blocking connect. Returns true when it completed at once (loopback can).
    public func startConnect(to address: SocketAddress) throws -> Bool {
        // Not retried on EINTR: the connect goes on in the kernel, and a second call would
        // answer EALREADY. An interrupted connect is one in progress.
        switch Syscall.result("connect(\(address))", retryingInterrupts: false, { address.withSockAddr { sa, len in Glibc.connect(fd, sa, len) } }) {
        case .value: return true
        case .interrupted: return false
        case .error(let e) where e.errno == .nowInProgress: return false
        case .wouldBlock: throw SyscallError("connect(\(address))", .resourceTemporarilyUnavailable)
        case .error(let e): throw e
        }
    }

    /// SO_ERROR: 0 once connected, else the errno connect() failed with.
    public func pendingError() -> Int32 {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if case .error(let e) = Syscall.result("getsockopt(SO_ERROR)", { getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) }) {
            return e.errno.rawValue
        }
        return v
    }

    /// TCP_INFO through the C shim (the kernel's full struct, not glibc's older copy).
    public func tcpInfo() -> TCPInfo? {
        var raw = CNetShims_TCPInfo()
        guard CNetShims_tcpInfo(fd, &raw) == 0 else { return nil }
        return TCPInfo(raw)
    }

    // MARK: data

    /// Non-blocking send. Returns bytes written, 0 on EAGAIN.
    public func send(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        switch transport.write(bytes) {
        case .bytes(let n): return n
        case .wouldBlock, .eof: return 0
        case .error(let e): throw e.socketError ?? SyscallError("send", .ioError)
        }
    }

    public enum ReadResult: Equatable { case bytes(Int), wouldBlock, eof }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> ReadResult {
        switch transport.read(into: buffer) {
        case .bytes(let n): return .bytes(n)
        case .wouldBlock: return .wouldBlock
        case .eof: return .eof
        case .error(let e): throw e.socketError ?? SyscallError("recv", .ioError)
        }
    }

    /// The socket as a byte transport (HTTP/2 and the probe's plain reads talk to this).
    public var transport: SocketTransport {
        if let t = socketTransport, t.fd == fd { return t }
        let t = SocketTransport(fd: fd)
        socketTransport = t
        return t
    }
    private var socketTransport: SocketTransport?

    /// close() that makes the kernel send RST instead of FIN (SO_LINGER 0).
    public func abort() {
        var l = linger(l_onoff: 1, l_linger: 0)
        // Best effort: the socket is closed whatever the answer.
        _ = Syscall.result("setsockopt(SO_LINGER)") { setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size)) }
        close()
    }
}
