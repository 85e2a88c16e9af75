import ConnDiagHTTP2

/// How a stream ended, as the wire showed it.
public enum StreamEnd: Equatable, Sendable {
    /// END_STREAM received (trailers or a complete response).
    case completed(httpStatus: Int?, grpcStatus: GRPCStatusCode?, grpcMessage: String?)
    /// The server reset the stream with this code (after trailers too, for grpc C-core).
    case reset(HTTP2ErrorCode, afterTrailers: GRPCStatusCode?)
    /// Above a GOAWAY's last-stream-id, or never sent because a GOAWAY arrived: the server
    /// did not process it, so it is safe to retry on another connection.
    case refusedByGoaway(lastStreamID: Int32)
    /// Still open when the TCP connection ended (FIN, RST or a local error).
    case killedByConnectionClose(how: String)
    /// Still open when the run ended.
    case open

    /// The end's short name (`completed`, `reset`, `refused`, `killed`, `open`) and a line
    /// saying what the wire showed; `openDetail` words the `open` case for its context.
    public func described(openDetail: String) -> (how: String, detail: String) {
        switch self {
        case .completed(let http, let g, let m):
            return ("completed", "END_STREAM" + (http.map { " :status \($0)" } ?? "") + (g.map { " grpc-status \($0.rawValue) \($0.name)" } ?? "") + (m.map { " \"\($0)\"" } ?? ""))
        case .reset(let code, let t):
            return ("reset", "RST_STREAM \(code.name)" + (t.map { " after trailers grpc-status \($0.rawValue) \($0.name)" } ?? ""))
        case .refusedByGoaway(let last):
            return ("refused", "above the GOAWAY's last-stream-id \(last): not processed, safe to retry")
        case .killedByConnectionClose(let how):
            return ("killed", "open when the connection ended (\(how))")
        case .open:
            return ("open", openDetail)
        }
    }
}
