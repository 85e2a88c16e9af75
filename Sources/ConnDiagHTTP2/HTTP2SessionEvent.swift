import ConnDiagPlatform

/// Something an `HTTP2ClientSession` saw or did, reported synchronously from inside
/// `readFromSocket()` (inbound) and `flush()` (outbound) so the caller can stamp it.
public enum HTTP2SessionEvent: Hashable, Sendable {
    /// A complete frame nghttp2 sent or received. Inbound HEADERS carry the decoded
    /// fields (CONTINUATIONs folded in); outbound HEADERS carry the list that was sent.
    /// Outbound frames are reported when nghttp2 serialises them into the send buffer.
    case frame(HTTP2Direction, HTTP2Frame)
    /// An inbound frame that arrived after nghttp2 stopped reading (`wantsRead` false:
    /// after GOAWAY with no stream open, or after the session was terminated). nghttp2
    /// drops such bytes without a callback, so the session decodes them itself; nothing
    /// acts on them (a PING here gets no ACK, exactly as with any nghttp2 client).
    case ignoredFrame(HTTP2Frame)
    /// A stream ended; `errorCode` is NO_ERROR for a clean close, otherwise the
    /// RST_STREAM/GOAWAY code that ended it (sent or received).
    case streamClosed(streamID: Int32, errorCode: HTTP2ErrorCode)
    /// nghttp2 rejected an inbound frame (it answers with RST_STREAM or GOAWAY itself).
    case invalidFrame(HTTP2Frame, HTTP2SessionError)
    /// nghttp2's HTTP messaging checks rejected an inbound header field; the stream is
    /// reset with PROTOCOL_ERROR.
    case invalidHeader(streamID: Int32, HTTP2Header)
    /// A submitted frame could not be sent (e.g. a new stream after GOAWAY).
    case frameNotSent(HTTP2Frame, HTTP2SessionError)
    /// nghttp2's error callback (connection-level protocol violations, with its message),
    /// or a fatal error from nghttp2_session_mem_recv/mem_send.
    case error(HTTP2SessionError)
}

/// An nghttp2 library failure: the operation, nghttp2's negative error code and message.
public struct HTTP2SessionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var operation: String
    /// nghttp2 library error code (NGHTTP2_ERR_*, negative), 0 when not applicable.
    public var code: Int32
    public var message: String

    public init(operation: String, code: Int32, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }

    public var description: String {
        code == 0 ? "\(operation): \(message)" : "\(operation): \(message) (\(code))"
    }
}

/// What `HTTP2ClientSession.readFromSocket()` found.
public enum HTTP2ReadResult: Hashable, Sendable {
    /// This many bytes were read and fed to nghttp2 (events were reported).
    case read(Int)
    /// Nothing available now (EAGAIN).
    case wouldBlock
    /// The peer closed its side (FIN): recv() returned 0.
    case eof
    /// The socket failed: ECONNRESET (peer RST), ETIMEDOUT (keepalive or user timeout), ...
    case error(errno: Int32)
    /// The transport failed without a socket error: a TLS alert (sent or received) or
    /// another TLS failure. Never reported as an errno: the peer did not reset.
    case transportFailed(TransportError)
    /// nghttp2 could not go on (fatal mem_recv error); flush, then close the socket.
    case sessionFailed(HTTP2SessionError)
}

/// What `HTTP2ClientSession.flush()` managed.
public enum HTTP2FlushResult: Hashable, Sendable {
    /// Everything nghttp2 had to send went to the kernel.
    case flushed
    /// The socket buffer is full; poll for POLLOUT and flush again.
    case wouldBlock
    /// send() failed: EPIPE, ECONNRESET, ETIMEDOUT, ...
    case error(errno: Int32)
    /// A TLS failure while writing (see `HTTP2ReadResult.transportFailed`).
    case transportFailed(TransportError)
    case sessionFailed(HTTP2SessionError)
}

/// The client's SETTINGS and nghttp2 options.
public struct HTTP2ClientSettings: Hashable, Sendable {
    /// SETTINGS_ENABLE_PUSH; off by default.
    public var enablePush: Bool
    /// SETTINGS_INITIAL_WINDOW_SIZE (per stream), nil for the protocol default 65535.
    public var initialWindowSize: UInt32?
    /// Connection-level receive window; when set, a WINDOW_UPDATE on stream 0 follows
    /// the SETTINGS (gRPC clients raise it).
    public var connectionWindowSize: Int32?
    public var maxConcurrentStreams: UInt32?
    public var maxFrameSize: UInt32?
    public var headerTableSize: UInt32?
    public var maxHeaderListSize: UInt32?
    /// Further parameters sent as given (after the ones above).
    public var extraSettings: [HTTP2Setting]
    /// nghttp2's HTTP messaging checks (pseudo-headers, content-length, ...). On by
    /// default; turn off to see what a non-conforming peer really sends.
    public var validatesHTTPMessaging: Bool

    public init(enablePush: Bool = false, initialWindowSize: UInt32? = nil,
                connectionWindowSize: Int32? = nil, maxConcurrentStreams: UInt32? = nil,
                maxFrameSize: UInt32? = nil, headerTableSize: UInt32? = nil,
                maxHeaderListSize: UInt32? = nil, extraSettings: [HTTP2Setting] = [],
                validatesHTTPMessaging: Bool = true) {
        self.enablePush = enablePush
        self.initialWindowSize = initialWindowSize
        self.connectionWindowSize = connectionWindowSize
        self.maxConcurrentStreams = maxConcurrentStreams
        self.maxFrameSize = maxFrameSize
        self.headerTableSize = headerTableSize
        self.maxHeaderListSize = maxHeaderListSize
        self.extraSettings = extraSettings
        self.validatesHTTPMessaging = validatesHTTPMessaging
    }

    /// The parameters of the client's first SETTINGS frame.
    public var settingsFrameEntries: [HTTP2Setting] {
        var entries = [HTTP2Setting(.enablePush, enablePush ? 1 : 0)]
        if let headerTableSize { entries.append(HTTP2Setting(.headerTableSize, headerTableSize)) }
        if let maxConcurrentStreams { entries.append(HTTP2Setting(.maxConcurrentStreams, maxConcurrentStreams)) }
        if let initialWindowSize { entries.append(HTTP2Setting(.initialWindowSize, initialWindowSize)) }
        if let maxFrameSize { entries.append(HTTP2Setting(.maxFrameSize, maxFrameSize)) }
        if let maxHeaderListSize { entries.append(HTTP2Setting(.maxHeaderListSize, maxHeaderListSize)) }
        return entries + extraSettings
    }
}

/// Everything received on one client stream.
public struct HTTP2StreamResponse: Hashable, Sendable {
    public let streamID: Int32
    /// `:status` of the final (non-1xx) response.
    public var status: Int?
    /// Fields of the final response HEADERS (pseudo-headers included).
    public var headers: [HTTP2Header] = []
    /// Fields of each 1xx response.
    public var informational: [[HTTP2Header]] = []
    /// Fields of a trailing HEADERS block (gRPC: grpc-status, grpc-message).
    public var trailers: [HTTP2Header]?
    /// DATA payload bytes received (padding excluded).
    public var dataBytes = 0
    public var dataFrames = 0
    /// The peer sent END_STREAM.
    public var endStreamReceived = false
    /// Set when the stream closed: NO_ERROR or the code that reset it.
    public var closeErrorCode: HTTP2ErrorCode?

    public init(streamID: Int32) { self.streamID = streamID }

    public var isClosed: Bool { closeErrorCode != nil }

    /// First value of `name` in the final headers.
    public func header(_ name: String) -> String? {
        headers.first(where: { $0.name == name })?.value
    }

    /// First value of `name` in the trailers.
    public func trailer(_ name: String) -> String? {
        trailers?.first(where: { $0.name == name })?.value
    }
}
