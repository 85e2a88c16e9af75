import Testing
@testable import ConnDiagCore

/// A long run must keep memory flat: the timeline drops the middle of the run past its limit
/// and accounts for every dropped event.
@Suite struct TimelineRetentionTests {
    @Test func boundedTimelineKeepsHeadAndRecentTailAndCountsTheRest() {
        let tl = Timeline(retainLimit: 1000)
        var seen = 0
        tl.observer = { _ in seen += 1 }
        for i in 0..<100_000 {
            tl.append(Event(t: Double(i) * 0.01, source: .h2, kind: i % 2 == 0 ? "ping" : "ping-ack"))
        }
        #expect(seen == 100_000, "the observer (NDJSON) sees every event")
        #expect(tl.events.count <= 1000)
        #expect(tl.events.count + tl.elision.total == 100_000)
        // The head of the run stays, and so does the most recent event.
        #expect(tl.events.first?.t == 0)
        #expect(tl.events.last?.t == 999.99)
        #expect(tl.events.count >= 750, "at least three quarters of the limit stay")
        // Kinds are counted; the span lies between the head and the tail.
        let byKind = Dictionary(uniqueKeysWithValues: tl.elision.byKind.map { ($0.0.rawValue, $0.1) })
        #expect(byKind["ping"]! + byKind["ping-ack"]! == tl.elision.total)
        #expect(tl.elision.from > tl.events[tl.keepFirst - 1].t)
        #expect(tl.elision.to < tl.events[tl.keepFirst].t)
        // Times stay ordered after elision.
        #expect(zip(tl.events, tl.events.dropFirst()).allSatisfy { $0.t <= $1.t })
    }

    @Test func unboundedTimelineKeepsEverything() {
        let tl = Timeline(retainLimit: Int.max)
        for i in 0..<5000 { tl.append(Event(t: Double(i), source: .app, kind: "x")) }
        #expect(tl.events.count == 5000 && tl.elision.isEmpty)
    }
}

@Suite struct SampleSummaryTests {
    @Test func exactWhileSmall() {
        var s = SampleSummary(capacity: 100)
        for x in [5.0, 1, 3, 2, 4] { s.add(x) }
        #expect(s.count == 5 && s.min == 1 && s.max == 5 && s.median == 3 && s.isExact)
    }

    @Test func boundedAndCloseForALongRun() {
        var s = SampleSummary(capacity: 4096)
        // 360,000 RTTs (a PING every 10 ms for an hour), uniform over 0..<1000 µs.
        for i in 0..<360_000 { s.add(Double((i &* 7919) % 1000) / 1e6) }
        #expect(s.count == 360_000 && !s.isExact)
        #expect(s.min == 0 && s.max == 999 / 1e6)
        let m = s.median!
        #expect(abs(m - 500 / 1e6) < 40 / 1e6, "median \(m) from the reservoir")
    }
}
