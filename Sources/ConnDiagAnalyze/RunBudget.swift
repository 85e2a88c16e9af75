/// What the reports of one engine run may hold in total, so that memory and output stay
/// bounded on huge captures (a million packets, thousands of connections) while small
/// captures keep everything.
///
/// Routine events (DATA, HEADERS, WINDOW_UPDATE, acknowledged PINGs, ...) are kept per
/// connection up to `--max-events` only while the whole run has kept fewer than
/// `eventLimit` events; after that they are counted in `omitted_events`, and so is a
/// stream's last DATA frame (important while there is room). Important events (handshake,
/// closes and resets, retransmissions, windows, GOAWAY, RST_STREAM, non-OK gRPC status) keep
/// their per-connection allowance whatever the run has kept.
///
/// Per-stream records of completed streams are kept while the run has kept fewer than
/// `completedStreamLimit`; streams that did not complete (reset, refused, killed, open) keep
/// theirs. The counts (`streams`, `stream_ends`) always cover every stream.
final class RunBudget {
    let eventLimit: Int
    let completedStreamLimit: Int
    var events = 0
    var completedStreams = 0

    init(maxEventsPerConnection: Int) {
        eventLimit = 32 * maxEventsPerConnection
        completedStreamLimit = 16 * H2Session.keptStreams
    }

    var routineEventsLeft: Bool { events < eventLimit }
}
