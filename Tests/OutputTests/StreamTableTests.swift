import ConnDiagCore
import ConnDiagOutput
import Testing

/// The per-stream table of goaway-trace, drawn from the report's typed rows.
@Suite struct StreamTableTests {
    static func report(_ rows: [HTTP2StreamRow]) -> Report {
        Report(command: "goaway-trace", target: nil, settings: [], kernel: nil, capture: true, attempts: [],
               outcome: Outcome(status: .closed, mechanism: .goaway, summary: "drained"), http2Streams: rows)
    }

    @Test func drawsOneLinePerStreamWithEachClientFamily() {
        let unavailable = ["grpc-go", "grpc-java", "grpc-core"].map { (family: $0, status: "UNAVAILABLE") }
        let rows = [
            HTTP2StreamRow(streamID: 1, openedAt: 0.186235, endedAt: 1.187468, end: "killed",
                           clientStatuses: unavailable + [(family: "proxy", status: "INTERNAL")],
                           detail: "open when the connection ended (FIN from the server)"),
            HTTP2StreamRow(streamID: nil, openedAt: 2.44, endedAt: nil, end: "refused",
                           clientStatuses: unavailable + [(family: "proxy", status: "retried")], detail: "not sent"),
        ]
        let table = EventTableRenderer(color: false).renderStreams(Self.report(rows))
        #expect(table == """
              streams:
                id    opened    ended     end       grpc-go      grpc-java    grpc-core    proxy     
                1     0.186s    1.187s    killed    UNAVAILABLE  UNAVAILABLE  UNAVAILABLE  INTERNAL   open when the connection ended (FIN from the server)
                -     2.44s     -         refused   UNAVAILABLE  UNAVAILABLE  UNAVAILABLE  retried    not sent

            """)
    }

    @Test func noStreamsNoTable() {
        #expect(EventTableRenderer(color: false).renderStreams(Self.report([])) == "")
    }
}
