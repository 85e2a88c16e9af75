/// The ordered list of events of one run. Everything that observes the connection appends
/// here; an optional observer sees each event as it is added (NDJSON streaming).
public final class Timeline {
    public let clock: RunClock
    public private(set) var events: [Event] = []
    public var observer: ((Event) -> Void)?

    public init(clock: RunClock = RunClock()) { self.clock = clock }

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
    }

    public func events(of kind: EventKind) -> [Event] { events.filter { $0.kind == kind } }
}
