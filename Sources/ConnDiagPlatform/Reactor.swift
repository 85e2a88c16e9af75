import Glibc
import ConnDiagCore

/// The one event loop of a run: descriptors registered with an interest and a handler,
/// capture descriptors read after every wake-up, timers on the run clock, and the interrupt
/// pipe, all on one poll(2). Engines register here instead of writing poll loops.
///
/// One wake-up (`runOnce`): poll until something is ready, the next timer is due or the
/// caller's timeout passes; then pump every capture, stop if interrupted, run the handlers
/// of ready descriptors in registration order, then the due timers in deadline order.
/// Captures go first so that the wire's view of a moment is in the timeline before the
/// socket's; the interrupt is judged before any handler so an interrupted run ends at once.
/// Single-threaded: use a reactor from the thread that made it.
public final class Reactor {
    /// What a descriptor waits for.
    public struct Interest: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let readable = Interest(rawValue: Int16(POLLIN))
        public static let writable = Interest(rawValue: Int16(POLLOUT))
    }

    /// What poll reported for a descriptor (its revents).
    public struct Readiness: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let readable = Readiness(rawValue: Int16(POLLIN))
        public static let writable = Readiness(rawValue: Int16(POLLOUT))
        public static let error = Readiness(rawValue: Int16(POLLERR))
        public static let hangup = Readiness(rawValue: Int16(POLLHUP))
        public static let invalid = Readiness(rawValue: Int16(POLLNVAL))
    }

    public struct Registration: Hashable, Sendable { fileprivate let id: Int }
    public struct TimerID: Hashable, Sendable { fileprivate let id: Int }

    /// Why `run` returned.
    public enum RunEnd: Equatable, Sendable { case stopped, deadline, interrupted }

    private struct Source {
        let id: Int
        var fd: Int32
        var interest: Interest
        let handler: (Readiness) -> Void
    }

    private struct Capture {
        let id: Int
        let fd: Int32
        let pump: () -> Void
    }

    private struct Timer {
        let id: Int
        let deadline: Double
        let action: () -> Void
    }

    public let clock: RunClock
    private let interrupt: InterruptSource?
    private var sources: [Source] = []
    private var captures: [Capture] = []
    /// Sorted by deadline; equal deadlines keep the order they were scheduled in.
    private var timers: [Timer] = []
    private var nextID = 0
    private var stopRequested = false
    /// The interrupt was seen; stays true.
    public private(set) var isInterrupted = false

    public init(clock: RunClock, interrupt: InterruptSource? = InterruptSignal.shared) {
        self.clock = clock
        self.interrupt = interrupt
    }

    // MARK: - Descriptors

    /// Watches `fd` for `interest`; `handler` gets what poll reported (errors and hang-ups
    /// are reported whatever the interest).
    @discardableResult
    public func register(fd: Int32, interest: Interest, handler: @escaping (Readiness) -> Void) -> Registration {
        nextID += 1
        sources.append(Source(id: nextID, fd: fd, interest: interest, handler: handler))
        return Registration(id: nextID)
    }

    public func setInterest(_ interest: Interest, for registration: Registration) {
        if let i = sources.firstIndex(where: { $0.id == registration.id }) { sources[i].interest = interest }
    }

    /// Stops watching (a registration of a capture too). Safe from inside a handler.
    public func deregister(_ registration: Registration) {
        sources.removeAll { $0.id == registration.id }
        captures.removeAll { $0.id == registration.id }
    }

    /// A capture descriptor: its readability wakes the reactor, and `pump` runs after every
    /// wake-up whatever woke it, because libpcap buffers packets that its descriptor no
    /// longer signals.
    @discardableResult
    public func registerCapture(fd: Int32, pump: @escaping () -> Void) -> Registration {
        nextID += 1
        captures.append(Capture(id: nextID, fd: fd, pump: pump))
        return Registration(id: nextID)
    }

    // MARK: - Timers

    /// Runs `action` once the run clock reaches `deadline` (seconds on `clock`).
    @discardableResult
    public func schedule(at deadline: Double, _ action: @escaping () -> Void) -> TimerID {
        nextID += 1
        let timer = Timer(id: nextID, deadline: deadline, action: action)
        let i = timers.firstIndex { $0.deadline > deadline } ?? timers.endIndex
        timers.insert(timer, at: i)
        return TimerID(id: nextID)
    }

    public func cancel(_ timer: TimerID) {
        timers.removeAll { $0.id == timer.id }
    }

    /// Drops every timer: a run that is over lets go of the closures it scheduled (a timer
    /// that reschedules itself holds its owner, which holds the reactor: a cycle otherwise).
    public func cancelAllTimers() { timers.removeAll() }

    /// The earliest timer deadline.
    public var nextDeadline: Double? { timers.first?.deadline }

    // MARK: - Running

    /// Makes `run` return after the current wake-up.
    public func stop() { stopRequested = true }

    /// One wake-up: waits at most `timeout` seconds (nil: until a descriptor or a timer),
    /// never past the next timer. Returns false when the run was interrupted.
    @discardableResult
    public func runOnce(timeout: Double?) -> Bool {
        if isInterrupted || interrupt?.isRaised == true { isInterrupted = true; return false }
        var wait = timeout
        if let d = nextDeadline { wait = min(wait ?? .infinity, d - clock.now()) }
        let waitMs: Int32 = wait.map { Int32(clamping: Int64(min(Double(Int32.max), max(0, $0) * 1000).rounded(.up))) } ?? -1

        var fds: [pollfd] = []
        fds.reserveCapacity(sources.count + captures.count + 1)
        for s in sources { fds.append(pollfd(fd: s.fd, events: s.interest.rawValue, revents: 0)) }
        for c in captures { fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
        if let fd = interrupt?.readFD, fd >= 0 { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        // An interrupted poll is a wake-up with nothing ready; any other failure (EINVAL,
        // ENOMEM) is one too: the captures, the interrupt and the timers are still looked at.
        _ = Syscall.poll(&fds, timeoutMs: waitMs)

        for c in captures { c.pump() }
        if interrupt?.isRaised == true { isInterrupted = true; return false }

        let ready = sources.enumerated().compactMap { i, s in fds[i].revents != 0 ? (s.id, Readiness(rawValue: fds[i].revents)) : nil }
        for (id, readiness) in ready {
            // A handler may have deregistered a later source.
            guard let s = sources.first(where: { $0.id == id }) else { continue }
            s.handler(readiness)
        }
        fireDueTimers()
        return true
    }

    /// Wakes up until `stop()`, the interrupt, or the run clock reaching `deadline`.
    public func run(until deadline: Double? = nil) -> RunEnd {
        stopRequested = false
        while true {
            if let d = deadline, clock.now() >= d { return .deadline }
            let timeout = deadline.map { $0 - clock.now() }
            if !runOnce(timeout: timeout) { return .interrupted }
            if stopRequested { stopRequested = false; return .stopped }
        }
    }

    private func fireDueTimers() {
        let now = clock.now()
        while let first = timers.first, first.deadline <= now {
            timers.removeFirst()
            first.action()
        }
    }
}
