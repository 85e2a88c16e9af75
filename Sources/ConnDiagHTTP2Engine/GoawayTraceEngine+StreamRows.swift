import ConnDiagCore
import ConnDiagDiagnosis

extension GoawayTraceEngine {
    /// The stream's row of the report's per-stream table, from the same record and words as
    /// its `streams` JSON entry.
    func streamRow(_ r: StreamRecord) -> HTTP2StreamRow {
        let (how, detail) = streamEnd(r)
        return HTTP2StreamRow(streamID: r.notSent ? nil : Int(r.id), openedAt: round6(r.openedAt), endedAt: r.endedAt.map(round6),
                              end: how, clientStatuses: GRPCClientRows.rows(for: r.end, grpc: config.kind.isGRPC).map { ($0.family, $0.status) },
                              detail: detail)
    }

    /// How the stream ended and what the wire showed; a stream never sent says why.
    func streamEnd(_ r: StreamRecord) -> (how: String, detail: String) {
        if r.notSent {
            return (describeEnd(r.end).0, "not sent: the connection was draining after a GOAWAY (a gRPC client starts new calls on a new connection)")
        }
        return describeEnd(r.end)
    }
}
