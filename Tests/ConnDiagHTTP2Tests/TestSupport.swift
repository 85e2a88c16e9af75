import ConnDiagHTTP2
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Bytes

/// Bytes from hex text; spaces, newlines and `#` comments (to end of line) are ignored.
func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var nibble: UInt8?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        for scalar in line.prefix(while: { $0 != "#" }).unicodeScalars {
            let value: UInt8
            switch scalar {
            case "0"..."9": value = UInt8(scalar.value - 48)
            case "a"..."f": value = UInt8(scalar.value - 87)
            case "A"..."F": value = UInt8(scalar.value - 55)
            default: continue
            }
            if let high = nibble {
                out.append(high << 4 | value)
                nibble = nil
            } else {
                nibble = value
            }
        }
    }
    precondition(nibble == nil, "odd number of hex digits")
    return out
}

/// A frame from its parts (tests build fixtures both ways: literal hex and this).
func frameBytes(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8]) -> [UInt8] {
    let n = payload.count
    return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
            UInt8(stream >> 24 & 0xff), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
        + payload
}

/// Deterministic PRNG for fuzz-style tests (SplitMix64).
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

// MARK: - Decoder verifier (swift-nio ByteToMessageDecoderVerifier style)

/// Feeds `chunks` in order to a fresh decoder, draining after each, then calls `finish()`.
/// Returns every result except `.needMoreData`.
func decode(_ chunks: [[UInt8]], side: HTTP2FrameDecoder.Side = .server, fromConnectionStart: Bool = false,
            maxFrameSize: Int = HTTP2Defaults.maxFrameSize,
            frameSizeLimit: Int = HTTP2Defaults.maxFrameSizeLimit) -> [HTTP2FrameDecoder.Result] {
    let decoder = HTTP2FrameDecoder(side: side, fromConnectionStart: fromConnectionStart,
                                    maxFrameSize: maxFrameSize, frameSizeLimit: frameSizeLimit)
    var results: [HTTP2FrameDecoder.Result] = []
    func drain() {
        var guardCount = 0
        while guardCount < 1_000_000 {
            guardCount += 1
            let result = decoder.nextFrame()
            if case .needMoreData = result { return }
            if case .stopped = result {
                if results.last != result { results.append(result) }
                return
            }
            results.append(result)
        }
        fatalError("decoder did not settle")
    }
    for chunk in chunks {
        decoder.append(bytes: chunk)
        drain()
    }
    if let tail = decoder.finish() { results.append(tail) }
    return results
}

/// Every way of cutting `bytes` that the verifier tries: whole, byte by byte, and in two
/// at every boundary.
func splits(of bytes: [UInt8]) -> [(String, [[UInt8]])] {
    var out: [(String, [[UInt8]])] = [("whole", [bytes]), ("byte-by-byte", bytes.map { [$0] })]
    if bytes.count > 1 {
        for cut in 1..<bytes.count {
            out.append(("split at \(cut)", [Array(bytes[..<cut]), Array(bytes[cut...])]))
        }
    }
    return out
}

// MARK: - Processes and sockets

enum TestEnvironment {
    static var isCI: Bool { getenv("CI").map { String(cString: $0).lowercased() == "true" } ?? false }

    static func executableExists(_ path: String) -> Bool { access(path, X_OK) == 0 }
}

/// A temporary directory, removed (with its files, one level) by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/conndiag-h2-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed")
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    }

    func write(_ name: String, _ bytes: [UInt8]) {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "open failed")
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            precondition(n > 0, "write failed")
            offset += n
        }
        close(fd)
    }

    func remove() {
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
}

/// Starts `argv` with stdout/stderr to /dev/null; returns the pid.
func spawn(_ argv: [String]) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    // The child inherits the calling thread's signal mask, and swift-testing runs tests on
    // pool threads that block most signals: without this, SIGTERM stays pending forever.
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
    var pid: pid_t = 0
    let rv = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
    return rv == 0 ? pid : nil
}

/// Sends `signal` to `pid` and reaps it; SIGKILL if it is still there after 5 s.
func stopProcess(_ pid: pid_t, signal: Int32 = SIGKILL) {
    kill(pid, signal)
    var status: Int32 = 0
    let deadline = monotonicSeconds() + 5
    while monotonicSeconds() < deadline {
        let rv = waitpid(pid, &status, WNOHANG)
        if rv == pid || (rv < 0 && errno != EINTR) { return }
        usleep(10_000)
    }
    kill(pid, SIGKILL)
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

/// A port that was free a moment ago on 127.0.0.1 (bind to 0, read it, close).
func freeLoopbackPort() -> UInt16? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { return nil }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { return nil }
    return UInt16(bigEndian: address.sin_port)
}

func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// Connects to 127.0.0.1:port (blocking, retried until `seconds` pass), then makes the
/// socket non-blocking.
func connectLoopback(port: UInt16, retryingFor seconds: Double) -> Int32? {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let rv = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rv == 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            return fd
        }
        close(fd)
        usleep(50_000)
    }
    return nil
}

func socketPair() -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    let rv = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
    precondition(rv == 0, "socketpair failed")
    for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    return (fds[0], fds[1])
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Reads everything currently available from a non-blocking fd.
func readAvailable(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return out }
        out += buffer[..<n]
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        precondition(n > 0, "send failed")
        offset += n
    }
}

// MARK: - Driving a session

/// The caller's poll loop in miniature: polls the session's fd, reads until EAGAIN,
/// flushes, and stops when `done()` holds, the socket ends, or `seconds` pass.
/// Returns the terminal read result (.eof / .error / .sessionFailed) if one occurred.
@discardableResult
func drive(_ session: HTTP2ClientSession, for seconds: Double, until done: () -> Bool) -> HTTP2ReadResult? {
    let deadline = monotonicSeconds() + seconds
    session.flush()
    while !done() && monotonicSeconds() < deadline {
        var pfd = pollfd(fd: session.fd, events: Int16(POLLIN) | (session.wantsWrite ? Int16(POLLOUT) : 0), revents: 0)
        let remainingMs = Int32(max(1, min(100, (deadline - monotonicSeconds()) * 1000)))
        let ready = poll(&pfd, 1, remainingMs)
        if ready < 0 && errno != EINTR { return .error(errno: errno) }
        if ready <= 0 { continue }
        if pfd.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
            reading: while true {
                switch session.readFromSocket() {
                case .read: continue
                case .wouldBlock: break reading
                case let terminal: return terminal
                }
            }
        }
        switch session.flush() {
        case .flushed, .wouldBlock: break
        case .error(let code): return .error(errno: code)
        case .transportFailed(let e): return .transportFailed(e)
        case .sessionFailed(let error): return .sessionFailed(error)
        }
    }
    return nil
}
