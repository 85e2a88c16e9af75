import Testing
import Glibc
import SystemPackage
import ConnDiagPlatform

@Suite struct SyscallTests {
    /// A body that fails with `errnos` in turn, then returns `value`.
    final class Script {
        var errnos: [Int32]
        var calls = 0
        init(_ errnos: [Int32]) { self.errnos = errnos }
        func call(_ value: Int32 = 7) -> Int32 {
            calls += 1
            guard !errnos.isEmpty else { return value }
            errno = errnos.removeFirst()
            return -1
        }
    }

    @Test func interruptsAreRetried() {
        let script = Script([EINTR, EINTR])
        guard case .value(7) = Syscall.result("read", { script.call() }) else { Issue.record("expected the value"); return }
        #expect(script.calls == 3)
    }

    @Test func interruptsAreSeenWhenAskedFor() {
        let script = Script([EINTR])
        guard case .interrupted = Syscall.result("poll", retryingInterrupts: false, { script.call() }) else {
            Issue.record("expected .interrupted"); return
        }
        #expect(script.calls == 1)
    }

    @Test(arguments: [EAGAIN, EWOULDBLOCK])
    func wouldBlockIsAValue(code: Int32) {
        guard case .wouldBlock = Syscall.result("recv", { Script([code]).call() }) else { Issue.record("expected .wouldBlock"); return }
    }

    @Test func errorsNameTheOperation() throws {
        guard case .error(let e) = Syscall.result("setsockopt(TCP_USER_TIMEOUT)", { Script([EINVAL]).call() }) else {
            Issue.record("expected .error"); return
        }
        #expect(e.operation == "setsockopt(TCP_USER_TIMEOUT)")
        #expect(e.errno == .invalidArgument)
        #expect(e.errnoName == "EINVAL")
        #expect(e.description == "setsockopt(TCP_USER_TIMEOUT): Invalid argument (EINVAL)")
        #expect(throws: SyscallError("bind", .addressInUse)) { try syscall("bind") { Script([EADDRINUSE]).call() } }
    }

    @Test func realCallsThroughTheFunnel() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 8)
        guard case .wouldBlock = buffer.withUnsafeMutableBytes({ Syscall.read(fds[0], into: $0) }) else {
            Issue.record("an empty non-blocking pipe reads as .wouldBlock"); return
        }
        #expect([UInt8]("hi".utf8).withUnsafeBytes { Syscall.writeAll(fds[1], $0) } == nil)
        guard case .value(2) = buffer.withUnsafeMutableBytes({ Syscall.read(fds[0], into: $0) }) else {
            Issue.record("expected two bytes"); return
        }
        guard case .error(let e) = buffer.withUnsafeMutableBytes({ Syscall.read(-1, into: $0) }) else {
            Issue.record("expected EBADF"); return
        }
        #expect(e.operation == "read" && e.errno == .badFileDescriptor)
    }
}

@Suite struct ReadToEndTests {
    /// A pipe, its read end non-blocking when asked.
    func makePipe(nonBlocking: Bool) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        if nonBlocking { _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) }
        return (fds[0], fds[1])
    }

    @Test("reads to end of file across reads, blocking or not (a writer that is slower than the reader)",
          arguments: [false, true])
    func readsEverything(nonBlocking: Bool) throws {
        let p = makePipe(nonBlocking: nonBlocking)
        defer { close(p.read) }
        let chunk = [UInt8](repeating: 0x61, count: 50_000)
        let done = ConditionLock()
        var finished = false
        try DetachedThread.start(stackSize: 1 << 20) {
            for _ in 0..<4 {
                usleep(5_000)
                chunk.withUnsafeBytes { _ = Syscall.writeAll(p.write, $0) }
            }
            close(p.write)
            done.withLock { finished = true; done.signal() }
        }
        guard case .value(let bytes) = Syscall.readToEnd(p.read) else { Issue.record("expected the bytes"); return }
        #expect(bytes.count == 200_000)
        done.lock()
        while !finished { done.wait() }
        done.unlock()
    }

    @Test func errorsNameTheOperation() {
        guard case .error(let e) = Syscall.readToEnd(-1) else { Issue.record("expected an error"); return }
        #expect(e.description.contains("read"))
    }
}
