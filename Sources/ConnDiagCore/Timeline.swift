/// The ordered list of events of one run. Everything that observes the connection appends
/// here; an optional observer sees each event as it is added (NDJSON streaming).
///
/// Retention is bounded so a long run (`keepalive-test --for 1h` with a PING every 10 ms)
/// keeps memory flat: past `retainLimit` events, the oldest events after the first
/// `keepFirst` are dropped in chunks and counted in `elision`. The head (handshake, settings)
/// and the most recent events — what every verdict reads — stay. The observer still sees
/// every event, so `--format ndjson` streams the full run.
public final class Timeline {
    public let clock: RunClock
    public private(set) var events: [Event] = []
    public var observer: ((Event) -> Void)?
    /// Events kept at most (head plus recent tail); `Int.max` keeps everything.
    public let retainLimit: Int
    /// Events never dropped at the start of the run.
    public let keepFirst: Int
    /// What was dropped to stay within `retainLimit`.
    public private(set) var elision = EventElision()

    /// 20,000 events are ~10 MB of report; a 10 ms PING loop reaches it in under two minutes.
    public static let defaultRetainLimit = 20_000

    public init(clock: RunClock = RunClock(), retainLimit: Int = Timeline.defaultRetainLimit) {
        self.clock = clock
        self.retainLimit = max(retainLimit, 16)
        self.keepFirst = max(retainLimit, 16) / 10
    }

    /// Appends keeping time order. Wire events can arrive slightly after socket events that
    /// happened later (the capture is read in batches), so insert by time.
    public func append(_ event: Event) {
        if let last = events.last, last.t > event.t {
            var i = events.count
            while i > 0 && events[i - 1].t > event.t { i -= 1 }
            events.insert(event, at: i)
        } else {
            events.append(event)
        }
        observer?(event)
        if events.count > retainLimit { elide() }
    }

    /// Drops a quarter of the limit just after the head: amortised O(1) per append.
    private func elide() {
        let chunk = max(1, retainLimit / 4)
        let range = keepFirst..<min(events.count, keepFirst + chunk)
        for e in events[range] { elision.count(e) }
        events.removeSubrange(range)
    }

    public func events(of kind: EventKind) -> [Event] { events.filter { $0.kind == kind } }
}

/// Events a bounded timeline dropped: how many, over which span, of which kinds.
public struct EventElision: Sendable {
    public private(set) var total = 0
    public private(set) var from: Double = 0
    public private(set) var to: Double = 0
    /// Counts by kind, in first-seen order.
    public private(set) var byKind: [(EventKind, Int)] = []

    public init() {}

    public var isEmpty: Bool { total == 0 }

    mutating func count(_ e: Event) {
        if total == 0 { from = e.t }
        total += 1
        to = max(to, e.t)
        if let i = byKind.firstIndex(where: { $0.0 == e.kind }) { byKind[i].1 += 1 } else { byKind.append((e.kind, 1)) }
    }

    /// Merges another attempt's elision (reports sum them).
    public mutating func merge(_ o: EventElision) {
        guard !o.isEmpty else { return }
        from = isEmpty ? o.from : min(from, o.from)
        to = max(to, o.to)
        total += o.total
        for (k, n) in o.byKind {
            if let i = byKind.firstIndex(where: { $0.0 == k }) { byKind[i].1 += n } else { byKind.append((k, n)) }
        }
    }

    public var json: JSONValue {
        .object([("count", .int(Int64(total))),
                 ("from", .double((from * 1_000_000).rounded() / 1_000_000)),
                 ("to", .double((to * 1_000_000).rounded() / 1_000_000)),
                 ("by_kind", .object(byKind.map { ($0.0.rawValue, .int(Int64($0.1))) }))])
    }

    /// "41800 events elided between t=2.0 s and t=3598.1 s (20900 ping, 20900 ping-ack)".
    public var summary: String {
        let kinds = byKind.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")
        return "\(total) events elided between t=\(DurationText.trimmed(from)) s and t=\(DurationText.trimmed(to)) s (\(kinds)); --format ndjson streams every event"
    }
}
