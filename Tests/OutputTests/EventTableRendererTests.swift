import ConnDiagCore
import ConnDiagOutput
import Testing

/// A bounded timeline's elision reaches the report: counted in the JSON, noted in the table
/// between the head and the tail of the run.
@Suite struct EventTableRendererTests {
    @Test func reportCarriesTheElisionInJSONAndTable() {
        let tl = Timeline(retainLimit: 100)
        for i in 0..<1000 { tl.append(Event(t: Double(i), source: .h2, kind: "ping", detail: "PING #\(i)")) }
        let outcome = Outcome(status: .connected, mechanism: .none, summary: "alive")
        let report = Report(command: "keepalive-test", target: nil, settings: [], kernel: nil, capture: true,
                            attempts: [AttemptReport(index: 1, target: TargetInfo(host: "h", address: "127.0.0.1", port: 1),
                                                     events: tl.events, elision: tl.elision, outcome: outcome)],
                            outcome: outcome)
        let json = report.json().serialized()
        #expect(json.contains("\"events_elided\":{\"count\":\(tl.elision.total)"))
        let table = EventTableRenderer(color: false).render(report)
        #expect(table.contains("\(tl.elision.total) events elided"))
        // The note sits between the head and the tail rows.
        let lines = table.split(separator: "\n").map(String.init)
        let note = lines.firstIndex { $0.contains("events elided") }!
        #expect(lines[note - 1].contains("PING #\(tl.keepFirst - 1)"))
        #expect(lines[note + 1].contains("PING #\(Int(tl.elision.to) + 1)"))
    }
}
