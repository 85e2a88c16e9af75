import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Time and files

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func unixNow() -> Int64 { Int64(time(nil)) }

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/conndiag-tls-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(result != nil, "mkdtemp failed")
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}

/// Removes a directory and the files directly in it.
func removeDirectory(_ path: String) {
    if let dir = opendir(path) {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { unlink(path + "/" + name) }
        }
        closedir(dir)
    }
    rmdir(path)
}

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += chunk[..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "open \(path) failed")
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n > 0, "write failed")
        offset += n
    }
    close(fd)
}

// MARK: - Processes

/// Starts `argv` (absolute path first) with stdin from /dev/null and stdout/stderr to
/// `output` (or /dev/null). The child gets an empty signal mask and default handlers:
/// swift-testing's pool threads block signals and posix_spawn would pass that on.
func spawn(_ argv: [String], output: String = "/dev/null") -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var pid: pid_t = 0
    let rv = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, environ)
    return rv == 0 ? pid : nil
}

/// Runs `argv` to completion; returns its exit status (or -1).
func run(_ argv: [String], output: String = "/dev/null") -> Int32 {
    guard let pid = spawn(argv, output: output) else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return -1 }
    }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
}

/// SIGKILL and reap (the peers here need no graceful stop).
func stopProcess(_ pid: pid_t) {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

// MARK: - Sockets

func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

func setNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
}

/// A port that was free a moment ago on 127.0.0.1.
func freeLoopbackPort() -> UInt16? {
    guard let listener = Listener() else { return nil }
    let port = listener.port
    listener.close()
    return port
}

/// Connects to 127.0.0.1:port, retrying until the server listens or `seconds` pass;
/// returns a non-blocking fd. The first successful connect is the one the test uses, so
/// a server that accepts once is not used up by a readiness probe.
func connectLoopback(port: UInt16, retryingFor seconds: Double = 10) -> Int32? {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let rv = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rv == 0 {
            setNonBlocking(fd)
            return fd
        }
        Glibc.close(fd)
        usleep(20_000)
    }
    return nil
}

/// A listening socket on 127.0.0.1:0, for peers scripted inside the test.
final class Listener {
    let fd: Int32
    let port: UInt16

    init?() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            Glibc.close(fd)
            return nil
        }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    /// Connects a non-blocking client and accepts it: (client, server side).
    func connectedPair() -> (client: Int32, server: Int32)? {
        guard let client = connectLoopback(port: port, retryingFor: 2) else { return nil }
        let server = accept(fd, nil, nil)
        guard server >= 0 else {
            Glibc.close(client)
            return nil
        }
        return (client, server)
    }

    func close() { Glibc.close(fd) }
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { return }
        offset += n
    }
}

/// Reads what is there within `seconds` (blocking fd, with poll).
func receiveSome(_ fd: Int32, seconds: Double = 2) -> [UInt8] {
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, Int32(seconds * 1000)) > 0 else { return [] }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    return n > 0 ? Array(buffer[..<n]) : []
}

// MARK: - Driving a client (the caller's poll loop in miniature)

func poll(_ fd: Int32, for events: Int16, untilDeadline deadline: Double) -> Bool {
    let remaining = deadline - monotonicSeconds()
    guard remaining > 0 else { return false }
    var pfd = pollfd(fd: fd, events: events, revents: 0)
    _ = poll(&pfd, 1, Int32(max(1, min(100, remaining * 1000))))
    return true
}

/// Runs the handshake to an end, polling as asked; a timeout comes back as a failure.
func completeHandshake(_ client: TLSClient, seconds: Double = 10) -> TLSStep {
    let deadline = monotonicSeconds() + seconds
    while true {
        let step = client.handshake()
        let events: Int16
        switch step {
        case .done, .failed: return step
        case .wantRead: events = Int16(POLLIN)
        case .wantWrite: events = Int16(POLLOUT)
        }
        if !poll(client.fd, for: events, untilDeadline: deadline) {
            return .failed(TLSFailure(reason: "test: handshake did not finish within \(seconds) s"))
        }
    }
}

/// Writes every byte, polling on want-read/want-write. Returns nil or the error.
func writeAll(_ client: TLSClient, _ bytes: [UInt8], seconds: Double = 10) -> String? {
    let deadline = monotonicSeconds() + seconds
    var offset = 0
    while offset < bytes.count {
        let result = bytes[offset...].withUnsafeBytes { client.write($0) }
        switch result {
        case .bytes(let n): offset += n
        case .wantRead: if !poll(client.fd, for: Int16(POLLIN), untilDeadline: deadline) { return "timeout" }
        case .wantWrite: if !poll(client.fd, for: Int16(POLLOUT), untilDeadline: deadline) { return "timeout" }
        case .eof: return "eof while writing"
        case .error(let message): return message
        }
    }
    return nil
}

/// Reads until EOF or error; returns the bytes and how it ended.
func readToEnd(_ client: TLSClient, seconds: Double = 10) -> ([UInt8], TLSIOResult) {
    let deadline = monotonicSeconds() + seconds
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let result = buffer.withUnsafeMutableBytes { client.read(into: $0) }
        switch result {
        case .bytes(let n): out += buffer[..<n]
        case .wantRead: if !poll(client.fd, for: Int16(POLLIN), untilDeadline: deadline) { return (out, .error("timeout")) }
        case .wantWrite: if !poll(client.fd, for: Int16(POLLOUT), untilDeadline: deadline) { return (out, .error("timeout")) }
        case .eof, .error: return (out, result)
        }
    }
}

extension TLSStep {
    var session: TLSSessionInfo? {
        if case .done(let info) = self { return info }
        return nil
    }

    var failure: TLSFailure? {
        if case .failed(let failure) = self { return failure }
        return nil
    }
}

/// Deterministic PRNG (SplitMix64) for the garbage-peer test.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
