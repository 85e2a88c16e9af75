/// A gRPC status code (grpc/doc/statuscodes.md), as carried in `grpc-status`. Open set.
public struct GRPCStatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    /// Parses a `grpc-status` value ("14"); nil when it is not a decimal number.
    public init?(headerValue: String) {
        guard !headerValue.isEmpty, headerValue.utf8.count <= 9,
              headerValue.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(headerValue) else { return nil }
        self.rawValue = value
    }

    public static let ok = GRPCStatusCode(0)
    public static let cancelled = GRPCStatusCode(1)
    public static let unknown = GRPCStatusCode(2)
    public static let invalidArgument = GRPCStatusCode(3)
    public static let deadlineExceeded = GRPCStatusCode(4)
    public static let notFound = GRPCStatusCode(5)
    public static let alreadyExists = GRPCStatusCode(6)
    public static let permissionDenied = GRPCStatusCode(7)
    public static let resourceExhausted = GRPCStatusCode(8)
    public static let failedPrecondition = GRPCStatusCode(9)
    public static let aborted = GRPCStatusCode(10)
    public static let outOfRange = GRPCStatusCode(11)
    public static let unimplemented = GRPCStatusCode(12)
    public static let `internal` = GRPCStatusCode(13)
    public static let unavailable = GRPCStatusCode(14)
    public static let dataLoss = GRPCStatusCode(15)
    public static let unauthenticated = GRPCStatusCode(16)

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    ]

    /// "UNAVAILABLE"; "CODE_<n>" outside the table.
    public var name: String {
        rawValue >= 0 && rawValue < Self.names.count ? Self.names[rawValue] : "CODE_\(rawValue)"
    }

    public var description: String { name }

    /// The status a gRPC client reports when a response has no grpc-status and the HTTP
    /// status is not 200 (grpc/doc/http-grpc-status-mapping.md).
    public init(httpStatus: Int) {
        switch httpStatus {
        case 400: self = .internal
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404: self = .unimplemented
        case 429, 502, 503, 504: self = .unavailable
        default: self = .unknown
        }
    }

    /// The status a gRPC client reports when the server resets the stream
    /// (grpc/doc/PROTOCOL-HTTP2.md, "Errors").
    public init(rstStream code: HTTP2ErrorCode) {
        switch code {
        case .refusedStream: self = .unavailable
        case .cancel: self = .cancelled
        case .enhanceYourCalm: self = .resourceExhausted
        case .inadequateSecurity: self = .permissionDenied
        default: self = .internal
        }
    }
}

extension GRPCStatusCode {
    /// Decodes a `grpc-message` value (percent-encoded UTF-8). Malformed escapes are kept
    /// as they are.
    public static func decodeMessage(_ value: String) -> String {
        let bytes = Array(value.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let high = hexDigit(bytes[i + 1]), let low = hexDigit(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}

extension HTTP2StreamResponse {
    /// grpc-status from the trailers, or from the headers of a trailers-only response.
    public var grpcStatus: GRPCStatusCode? {
        (trailer("grpc-status") ?? header("grpc-status")).flatMap { GRPCStatusCode(headerValue: $0) }
    }

    /// grpc-message (percent-decoded) from the trailers or a trailers-only response.
    public var grpcMessage: String? {
        (trailer("grpc-message") ?? header("grpc-message")).map(GRPCStatusCode.decodeMessage)
    }

    /// The status a gRPC client would report for this stream so far: grpc-status when
    /// present, else derived from a non-200 HTTP status or the RST_STREAM code; nil while
    /// the stream is still open without a status.
    public var effectiveGRPCStatus: GRPCStatusCode? {
        if let grpcStatus { return grpcStatus }
        if let status, status != 200 { return GRPCStatusCode(httpStatus: status) }
        if let code = closeErrorCode {
            return code == .noError ? .internal : GRPCStatusCode(rstStream: code)
        }
        return nil
    }
}
