import Testing
import Glibc
import ConnDiagCore
import ConnDiagPlatform

/// A private interrupt for one reactor (the process's signal cannot be lowered again).
final class TestInterrupt: InterruptSource {
    let readFD: Int32
    let writeFD: Int32
    private(set) var isRaised = false
    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        readFD = fds[0]; writeFD = fds[1]
    }
    deinit { close(readFD); close(writeFD) }
    func raise() { isRaised = true; _ = write(writeFD, "x", 1) }
}

/// A pipe whose read end is registered with reactors.
final class TestPipe {
    let readFD: Int32
    let writeFD: Int32
    init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0)
        readFD = fds[0]; writeFD = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    deinit { close(readFD); close(writeFD) }
    func send(_ text: String) { _ = write(writeFD, text, text.utf8.count) }
}

@Suite struct ReactorTests {
    @Test func timersFireInOrderAtTheirDeadlines() {
        let clock = RunClock()
        let reactor = Reactor(clock: clock, interrupt: TestInterrupt())
        var fired: [(String, Double)] = []
        let start = clock.now()
        // Scheduled out of order; equal deadlines keep their scheduling order.
        reactor.schedule(at: start + 0.06) { fired.append(("c", clock.now())) }
        reactor.schedule(at: start + 0.02) { fired.append(("a", clock.now())) }
        reactor.schedule(at: start + 0.04) { fired.append(("b1", clock.now())) }
        reactor.schedule(at: start + 0.04) { fired.append(("b2", clock.now())) }
        let cancelled = reactor.schedule(at: start + 0.03) { fired.append(("x", clock.now())) }
        reactor.cancel(cancelled)
        reactor.schedule(at: start + 0.08) { reactor.stop() }
        #expect(reactor.run(until: start + 5) == .stopped)
        #expect(fired.map(\.0) == ["a", "b1", "b2", "c"])
        for (name, at) in fired {
            let deadline = start + ["a": 0.02, "b1": 0.04, "b2": 0.04, "c": 0.06][name]!
            #expect(at >= deadline, "\(name) fired early")
            // poll's millisecond granularity plus scheduling on a shared machine.
            #expect(at < deadline + 0.05, "\(name) fired late: \(at - deadline)")
        }
        #expect(clock.now() - start < 1)
    }

    @Test func aReadableDescriptorsHandlerRuns() {
        let reactor = Reactor(clock: RunClock(), interrupt: TestInterrupt())
        let quiet = TestPipe(), busy = TestPipe()
        var seen: [String] = []
        reactor.register(fd: quiet.readFD, interest: .readable) { _ in seen.append("quiet") }
        reactor.register(fd: busy.readFD, interest: .readable) { [unowned reactor] readiness in
            #expect(readiness.contains(.readable))
            var b = [UInt8](repeating: 0, count: 16)
            _ = read(busy.readFD, &b, 16)
            seen.append("busy")
            reactor.stop()
        }
        busy.send("x")
        #expect(reactor.run(until: reactor.clock.now() + 5) == .stopped)
        #expect(seen == ["busy"])
    }

    @Test func writableInterestAndDeregistration() {
        let reactor = Reactor(clock: RunClock(), interrupt: TestInterrupt())
        let p = TestPipe()
        var writable = 0
        let r = reactor.register(fd: p.writeFD, interest: []) { _ in writable += 1 }
        #expect(reactor.runOnce(timeout: 0.01))
        #expect(writable == 0)
        reactor.setInterest(.writable, for: r)
        #expect(reactor.runOnce(timeout: 1))
        #expect(writable == 1)
        reactor.deregister(r)
        #expect(reactor.runOnce(timeout: 0.01))
        #expect(writable == 1)
    }

    @Test func capturesArePumpedAfterEveryWakeUp() {
        let reactor = Reactor(clock: RunClock(), interrupt: TestInterrupt())
        let capture = TestPipe(), socket = TestPipe()
        var order: [String] = []
        reactor.registerCapture(fd: capture.readFD) { order.append("capture") }
        reactor.register(fd: socket.readFD, interest: .readable) { _ in order.append("socket") }
        #expect(reactor.runOnce(timeout: 0.01))   // nothing ready: the capture is still read
        socket.send("x")
        #expect(reactor.runOnce(timeout: 1))
        #expect(order == ["capture", "capture", "socket"])
    }

    @Test func theInterruptPipeEndsRun() {
        let clock = RunClock()
        let interrupt = TestInterrupt()
        let reactor = Reactor(clock: clock, interrupt: interrupt)
        let p = TestPipe()
        var handled = false
        reactor.register(fd: p.readFD, interest: .readable) { _ in handled = true }
        reactor.schedule(at: clock.now() + 0.05) {
            interrupt.raise()
            p.send("x")   // ready in the same wake-up: the interrupt wins
        }
        let start = clock.now()
        #expect(reactor.run(until: start + 5) == .interrupted)
        #expect(clock.now() - start < 1)
        #expect(reactor.isInterrupted)
        #expect(!handled)
        #expect(!reactor.runOnce(timeout: 0))
    }

    @Test func runEndsAtItsDeadline() {
        let clock = RunClock()
        let reactor = Reactor(clock: clock, interrupt: nil)
        let start = clock.now()
        #expect(reactor.run(until: start + 0.05) == .deadline)
        #expect(clock.now() >= start + 0.05)
    }
}
