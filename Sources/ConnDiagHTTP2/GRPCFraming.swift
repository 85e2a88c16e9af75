/// gRPC over HTTP/2 message framing (grpc/doc/PROTOCOL-HTTP2.md): each message is a
/// compressed-flag octet, a 4-byte big-endian length and the payload.
public enum GRPCFraming {
    /// The length-prefix size.
    public static let prefixLength = 5
    /// grpc's default maximum receive message size (4 MiB).
    public static let defaultMaxMessageSize = 4 * 1024 * 1024

    /// Frames one message. `compressed` only sets the flag; the payload is sent as given.
    public static func encodeMessage(_ payload: [UInt8], compressed: Bool = false) -> [UInt8] {
        let length = UInt32(truncatingIfNeeded: payload.count)
        var out: [UInt8] = [compressed ? 1 : 0,
                            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
        out.reserveCapacity(prefixLength + payload.count)
        out.append(contentsOf: payload)
        return out
    }

    /// True for a method path of the form "/package.Service/Method".
    public static func isValidMethodPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0].isEmpty && !parts[1].isEmpty && !parts[2].isEmpty
    }

    /// The non-pseudo request headers of a gRPC call, in the order grpc clients send them.
    /// (`:method POST`, `:scheme`, `:path`, `:authority` are the session's arguments.)
    /// - Parameters:
    ///   - timeoutMilliseconds: sent as `grpc-timeout: <n>m` when given.
    ///   - metadata: custom metadata, lowercase names.
    public static func requestHeaders(timeoutMilliseconds: Int? = nil,
                                      userAgent: String? = "conndiag",
                                      metadata: [HTTP2Header] = []) -> [HTTP2Header] {
        var headers = [HTTP2Header("content-type", "application/grpc"), HTTP2Header("te", "trailers")]
        if let timeoutMilliseconds {
            headers.append(HTTP2Header("grpc-timeout", "\(max(0, min(timeoutMilliseconds, 99_999_999)))m"))
        }
        if let userAgent {
            headers.append(HTTP2Header("user-agent", userAgent))
        }
        return headers + metadata
    }
}

/// Incremental decoder for length-prefixed gRPC messages from a stream's DATA bytes.
public struct GRPCMessageDecoder: Sendable {
    public struct Message: Hashable, Sendable {
        public var compressed: Bool
        public var payload: [UInt8]

        public init(compressed: Bool, payload: [UInt8]) {
            self.compressed = compressed
            self.payload = payload
        }
    }

    public enum Result: Hashable, Sendable {
        case message(Message)
        case needMoreData
        /// The prefix is broken (flag not 0/1) or announces more than `maxMessageSize`;
        /// message boundaries are lost and every later call returns the same result.
        case invalid(reason: String, offset: Int)
    }

    public let maxMessageSize: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var baseOffset = 0
    private var failure: Result?

    public init(maxMessageSize: Int = GRPCFraming.defaultMaxMessageSize) {
        self.maxMessageSize = maxMessageSize
    }

    /// Bytes received that do not yet form a whole message.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public mutating func append<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard failure == nil else { return }
        if readIndex > 0 && (readIndex == buffer.count || readIndex >= 64 * 1024) {
            buffer.removeFirst(readIndex)
            baseOffset += readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func nextMessage() -> Result {
        if let failure { return failure }
        let available = buffer.count - readIndex
        guard available >= GRPCFraming.prefixLength else { return .needMoreData }
        let i = readIndex
        let flag = buffer[i]
        let length = Int(buffer[i + 1]) << 24 | Int(buffer[i + 2]) << 16 | Int(buffer[i + 3]) << 8 | Int(buffer[i + 4])
        let offset = baseOffset + readIndex
        guard flag <= 1 else {
            return fail("compressed-flag octet is \(flag), expected 0 or 1", offset)
        }
        guard length <= maxMessageSize else {
            return fail("message length \(length) exceeds the maximum of \(maxMessageSize) bytes", offset)
        }
        guard available >= GRPCFraming.prefixLength + length else { return .needMoreData }
        let start = i + GRPCFraming.prefixLength
        readIndex = start + length
        return .message(Message(compressed: flag == 1, payload: Array(buffer[start..<readIndex])))
    }

    private mutating func fail(_ reason: String, _ offset: Int) -> Result {
        let result = Result.invalid(reason: reason, offset: offset)
        failure = result
        buffer = []
        readIndex = 0
        return result
    }
}
