import ConnDiagCore
import ConnDiagHTTP2

/// The status each kind of gRPC client reports for a stream's end. One row per family.
///
/// Sources of the rules:
/// - RST_STREAM codes: grpc/doc/PROTOCOL-HTTP2.md "Errors" (NO_ERROR, PROTOCOL_ERROR,
///   INTERNAL_ERROR, FLOW_CONTROL_ERROR, ... -> INTERNAL; REFUSED_STREAM -> UNAVAILABLE;
///   CANCEL -> CANCELLED; ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED; INADEQUATE_SECURITY ->
///   PERMISSION_DENIED), as grpc-go internal/transport/http_util.go http2ErrConvTab,
///   grpc-java netty Utils / NettyClientHandler and C-core chttp2 (grpc_http2_error_to_grpc_status) implement it.
/// - A connection that closes under an open stream: grpc-go internal/transport/http2_client.go
///   closes every active stream with codes.Unavailable ("error reading from server: EOF"
///   / "connection reset by peer"); grpc-java NettyClientHandler reports UNAVAILABLE
///   ("Connection closed" / io exception); C-core reports UNAVAILABLE ("Socket closed",
///   "Connection reset by peer").
/// - Streams above a GOAWAY's last-stream-id were not processed: all three libraries fail
///   them with UNAVAILABLE and retry them transparently (gRPC A6 transparent retry).
/// - A request-level proxy (Linkerd, Envoy in HTTP/2 mode) turns an upstream I/O error under
///   an open stream into RST_STREAM INTERNAL_ERROR (or a 502/503 before headers) towards
///   its client, which then reports INTERNAL, not UNAVAILABLE: the field report's case.
public enum GRPCClientRows {
    public static let families = ["grpc-go", "grpc-java", "grpc-core", "proxy"]

    /// The rows as the JSON contract's `clients` object: family -> {status, why}.
    public static func json(for end: StreamEnd, grpc isGRPC: Bool = true) -> JSONValue {
        .object(rows(for: end, grpc: isGRPC).map { ($0.family, .object([("status", .string($0.status)), ("why", .string($0.note))])) })
    }

    public static func rows(for end: StreamEnd, grpc isGRPC: Bool = true) -> [(family: String, status: String, note: String)] {
        switch end {
        case .completed(let http, _, _) where !isGRPC:
            // A plain HTTP/2 request: what a client sees is the HTTP status.
            return families.map { ($0, "HTTP \(http.map(String.init) ?? "?")", "response complete") }
        case .completed(let http, let grpc, let message):
            let s = grpc ?? http.map { GRPCStatusCode(httpStatus: $0) } ?? .unknown
            let note = grpc != nil ? "grpc-status in trailers" + (message.map { ": \($0)" } ?? "") : "no grpc-status: from HTTP \(http.map(String.init) ?? "?")"
            return families.map { ($0, s.name, note) }
        case .reset(let code, let trailers):
            if let t = trailers {
                return families.map { ($0, t.name, "trailers arrived before RST_STREAM \(code.name); the trailers decide") }
            }
            let s = GRPCStatusCode(rstStream: code)
            return families.map { ($0, s.name, "RST_STREAM \(code.name) maps to \(s.name) (PROTOCOL-HTTP2.md)") }
        case .refusedByGoaway(let last):
            return [("grpc-go", "UNAVAILABLE", "not processed (id above last-stream-id \(last)); retried transparently"),
                    ("grpc-java", "UNAVAILABLE", "not processed; retried transparently"),
                    ("grpc-core", "UNAVAILABLE", "not processed; retried transparently"),
                    ("proxy", "retried", "safe to retry on another upstream connection")]
        case .killedByConnectionClose(let how):
            return [("grpc-go", "UNAVAILABLE", "transport closed under the stream (\(how))"),
                    ("grpc-java", "UNAVAILABLE", "connection closed under the stream (\(how))"),
                    ("grpc-core", "UNAVAILABLE", "socket closed under the stream (\(how))"),
                    ("proxy", "INTERNAL", "upstream I/O error becomes RST_STREAM INTERNAL_ERROR to its client")]
        case .open:
            return families.map { ($0, "-", "still open") }
        }
    }
}
