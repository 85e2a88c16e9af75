import CNghttp2
import ConnDiagPlatform
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP/2 client (nghttp2) over a byte transport (the plain socket for h2c, TLS for h2)
/// on an already connected, non-blocking socket that the caller owns and polls.
///
/// The caller's loop: poll the fd for POLLIN always (even when `wantsRead` is false: after
/// a GOAWAY nghttp2 stops wanting input, but the FIN or RST that follows is the point of
/// this tool) and for POLLOUT while `wantsWrite`; on POLLIN call `readFromSocket()` until
/// it returns `.wouldBlock`, then `flush()` (nghttp2 queues SETTINGS/PING ACKs and
/// WINDOW_UPDATEs while reading); after any `submit...` call `flush()`.
///
/// Every frame in either direction, stream closes and nghttp2's protocol complaints go to
/// `onEvent`, synchronously, so the caller can timestamp them. The session never closes
/// the fd and never prints. Not thread-safe: use it from one thread.
public final class HTTP2ClientSession {
    /// Every byte in and out goes through this.
    public let transport: ByteTransport
    public var fd: Int32 { transport.fd }
    public let settings: HTTP2ClientSettings

    /// Called for every frame sent/received and every stream close or protocol error.
    public var onEvent: ((HTTP2SessionEvent) -> Void)?
    /// Called with each chunk of DATA payload received on a stream (for gRPC decoding).
    public var onData: ((Int32, [UInt8]) -> Void)?

    /// Per-stream results, by stream id.
    public private(set) var responses: [Int32: HTTP2StreamResponse] = [:]

    /// Total bytes read from / written to the socket.
    public private(set) var bytesRead = 0
    public private(set) var bytesWritten = 0

    private var session: OpaquePointer?
    private var sendBuffer: [UInt8] = []
    /// Answer PINGs that arrive after nghttp2 stopped reading (GOAWAY received, no stream
    /// open). gRPC's graceful drain (A9) waits for the ACK of the PING it sends with the
    /// first GOAWAY before it sends the real last-stream-id; gRPC clients answer it.
    public var answersPingsWhileDraining = true
    /// How the peer ended its stream, once `readFromSocket()` returned `.eof`.
    public private(set) var end: TransportEnd?
    private var sendOffset = 0
    private var inboundFields: [HTTP2Header] = []
    private var requestBodies: [Int32: RequestBody] = [:]
    private var receiveBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var inboundShadow: HTTP2FrameDecoder?
    private var bytesFedToNghttp2 = 0

    private struct RequestBody {
        var bytes: [UInt8]
        var offset = 0
        var endStream: Bool
        var deferred = false
    }

    /// Creates the nghttp2 client session and queues the client SETTINGS (nghttp2 writes
    /// the 24-byte preface in front of it). Nothing is written until `flush()`.
    public init(transport: ByteTransport, settings: HTTP2ClientSettings = HTTP2ClientSettings()) throws {
        self.transport = transport
        self.settings = settings
        self.inboundShadow = HTTP2FrameDecoder(
            side: .server, fromConnectionStart: true,
            maxFrameSize: Int(settings.maxFrameSize ?? UInt32(HTTP2Defaults.maxFrameSize)),
            headerTableSize: Int(settings.headerTableSize ?? UInt32(HTTP2Defaults.headerTableSize)))

        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            throw HTTP2SessionError(operation: "nghttp2_session_callbacks_new", code: 0, message: "out of memory")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else {
            throw HTTP2SessionError(operation: "nghttp2_option_new", code: 0, message: "out of memory")
        }
        defer { nghttp2_option_del(option) }
        if !settings.validatesHTTPMessaging {
            nghttp2_option_set_no_http_messaging(option, 1)
        }

        let userData = Unmanaged.passUnretained(self).toOpaque()
        var session: OpaquePointer?
        let rv = nghttp2_session_client_new2(&session, callbacks, userData, option)
        guard rv == 0, let session else {
            throw HTTP2SessionError(operation: "nghttp2_session_client_new2", code: rv, message: nghttp2Message(rv))
        }
        self.session = session

        var entries = settings.settingsFrameEntries.map {
            nghttp2_settings_entry(settings_id: Int32($0.identifier.rawValue), value: $0.value)
        }
        let settingsRV = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        try check(settingsRV, "nghttp2_submit_settings")
        if let window = settings.connectionWindowSize {
            try check(nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, window),
                      "nghttp2_session_set_local_window_size")
        }
    }

    /// A session on the plain socket `fd` (h2c).
    public convenience init(fd: Int32, settings: HTTP2ClientSettings = HTTP2ClientSettings()) throws {
        try self.init(transport: SocketTransport(fd: fd), settings: settings)
    }

    deinit {
        if let session { nghttp2_session_del(session) }
    }

    // MARK: - State

    /// nghttp2 has frames to send or bytes are waiting for the socket: poll for POLLOUT.
    public var wantsWrite: Bool {
        sendOffset < sendBuffer.count || (session.map { nghttp2_session_want_write($0) != 0 } ?? false)
    }

    /// nghttp2 still expects frames. Turns false after GOAWAY once no stream is open;
    /// keep reading the socket anyway to see the FIN or RST.
    public var wantsRead: Bool {
        session.map { nghttp2_session_want_read($0) != 0 } ?? false
    }

    /// Highest peer-initiated stream id nghttp2 processed (for a GOAWAY's last stream id).
    public var lastProcessedStreamID: Int32 {
        session.map { nghttp2_session_get_last_proc_stream_id($0) } ?? 0
    }

    /// The value of a SETTINGS parameter the peer sent (or its default).
    public func remoteSetting(_ identifier: HTTP2SettingIdentifier) -> UInt32 {
        guard let session else { return 0 }
        return nghttp2_session_get_remote_settings(session, nghttp2_settings_id(rawValue: numericCast(identifier.rawValue)))
    }

    public func response(for streamID: Int32) -> HTTP2StreamResponse? {
        responses[streamID]
    }

    // MARK: - I/O

    /// Reads once from the socket and feeds what arrived to nghttp2. Call until it
    /// returns `.wouldBlock` (or `.eof` / `.error`).
    public func readFromSocket() -> HTTP2ReadResult {
        let n: Int
        switch receiveBuffer.withUnsafeMutableBytes({ transport.read(into: $0) }) {
        case .bytes(let got): n = got
        case .wouldBlock: return .wouldBlock
        case .eof(let how): end = how; return .eof
        case .error(.socket(let e)): return .error(errno: e.errno.rawValue)
        case .error(let e): return .transportFailed(e)
        }
        let readBase = bytesRead
        bytesRead += n
        guard let session else { return .read(n) }

        // nghttp2 silently drops input once it stops wanting to read (after GOAWAY), but
        // what the server sends then (the second GOAWAY of a drain, PINGs, RST_STREAMs) is
        // what this tool is for. A shadow decoder sees every inbound byte; nghttp2 is fed
        // frame by frame so that the frames it will not look at are reported from the
        // shadow instead.
        guard let shadow = inboundShadow else {
            if let error = feedNghttp2(session, upTo: readBase + n, readBase: readBase) {
                return .sessionFailed(error)
            }
            return .read(n)
        }
        receiveBuffer.withUnsafeBufferPointer { shadow.append(bytes: $0[..<n]) }
        loop: while true {
            let result = shadow.nextFrame()
            switch result {
            case .needMoreData:
                break loop
            case .stopped:
                // Frame boundaries lost: leave everything to nghttp2 from here on.
                inboundShadow = nil
                break loop
            case let .frame(frame, offset):
                if nghttp2StillReading(session) {
                    if let error = feedNghttp2(session, upTo: offset + frame.wireLength, readBase: readBase) {
                        return .sessionFailed(error)
                    }
                } else {
                    emit(.ignoredFrame(frame))
                    if case .ping(false, let opaque) = frame.payload, answersPingsWhileDraining {
                        queuePingAck(opaque: opaque)
                    }
                }
            case let .invalid(reason, _), let .truncated(reason, _):
                if !nghttp2StillReading(session) {
                    emit(.error(HTTP2SessionError(operation: "inbound bytes after nghttp2 stopped reading",
                                                  code: 0, message: reason)))
                }
            case .preface, .resynchronized:
                break
            }
        }
        // The start of a frame still incomplete: nghttp2 buffers it itself.
        if let error = feedNghttp2(session, upTo: readBase + n, readBase: readBase) {
            return .sessionFailed(error)
        }
        return .read(n)
    }

    /// Whether nghttp2 still processes input; once false it stays false.
    private var nghttp2Reading = true

    /// Hands receiveBuffer bytes up to absolute offset `end` to nghttp2, unless it stopped
    /// reading. Returns a fatal error, after reporting it.
    private func nghttp2StillReading(_ session: OpaquePointer) -> Bool {
        if nghttp2Reading && nghttp2_session_want_read(session) == 0 {
            nghttp2Reading = false
        }
        return nghttp2Reading
    }

    private func feedNghttp2(_ session: OpaquePointer, upTo end: Int, readBase: Int) -> HTTP2SessionError? {
        let start = max(bytesFedToNghttp2, readBase)
        let stop = min(end, bytesRead)
        guard nghttp2StillReading(session), stop > start else { return nil }
        bytesFedToNghttp2 = stop
        let rv = receiveBuffer.withUnsafeBufferPointer {
            nghttp2_session_mem_recv(session, $0.baseAddress! + (start - readBase), stop - start)
        }
        if rv < 0 {
            let code = Int32(truncatingIfNeeded: rv)
            let error = HTTP2SessionError(operation: "nghttp2_session_mem_recv", code: code, message: nghttp2Message(code))
            onEvent?(.error(error))
            return error
        }
        return nil
    }

    /// Serialises everything nghttp2 has queued and writes it to the transport, keeping what
    /// it did not take for the next call.
    @discardableResult
    public func flush() -> HTTP2FlushResult {
        while true {
            if sendOffset < sendBuffer.count {
                let offset = sendOffset
                let n: Int
                switch sendBuffer.withUnsafeBytes({ transport.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
                case .bytes(let sent): n = sent
                case .wouldBlock: return .wouldBlock
                case .eof: return .error(errno: EPIPE)
                case .error(.socket(let e)): return .error(errno: e.errno.rawValue)
                case .error(let e): return .transportFailed(e)
                }
                sendOffset += n
                bytesWritten += n
                continue
            }
            sendBuffer.removeAll(keepingCapacity: true)
            sendOffset = 0
            guard let session else { return .flushed }
            var data: UnsafePointer<UInt8>?
            let produced = nghttp2_session_mem_send(session, &data)
            if produced < 0 {
                let code = Int32(truncatingIfNeeded: produced)
                let error = HTTP2SessionError(operation: "nghttp2_session_mem_send", code: code, message: nghttp2Message(code))
                onEvent?(.error(error))
                return .sessionFailed(error)
            }
            if produced == 0 { return .flushed }
            guard let data else { return .flushed }
            // nghttp2's buffer is only valid until the next mem_send call.
            sendBuffer.append(contentsOf: UnsafeBufferPointer(start: data, count: produced))
        }
    }

    /// Writes a PING ACK frame ourselves: nghttp2 will not send one once it is closing.
    private func queuePingAck(opaque: UInt64) {
        var frame: [UInt8] = [0, 0, 8, 6, 1, 0, 0, 0, 0]   // length 8, type PING, flags ACK, stream 0
        for i in 0..<8 { frame.append(UInt8(truncatingIfNeeded: opaque >> (56 - 8 * UInt64(i)))) }
        sendBuffer.append(contentsOf: frame)
        emit(.frame(.outbound, HTTP2Frame(streamID: 0, flags: HTTP2FrameFlags(rawValue: 1), length: 8, payload: .ping(ack: true, opaque: opaque))))
    }

    // MARK: - Submitting

    /// Opens a stream with a request HEADERS frame. With `body` and/or `endStream: false`
    /// a data provider is attached: `body` goes out first, then whatever `submitData`
    /// adds; END_STREAM is set when `endStream` is (or a later `submitData` says so).
    /// Returns the new stream id. Header names must be lowercase.
    @discardableResult
    public func submitRequest(method: String = "GET", scheme: String = "http", authority: String,
                              path: String, headers: [HTTP2Header] = [], body: [UInt8]? = nil,
                              endStream: Bool = true) throws -> Int32 {
        let session = try liveSession("nghttp2_submit_request")
        let fields = [HTTP2Header(":method", method), HTTP2Header(":scheme", scheme),
                      HTTP2Header(":authority", authority), HTTP2Header(":path", path)] + headers
        let needsProvider = body != nil || !endStream
        let streamID: Int32 = withNVArray(fields) { nva, count in
            if needsProvider {
                var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil),
                                                     read_callback: readRequestBodyCallback)
                return nghttp2_submit_request(session, nil, nva, count, &provider, nil)
            }
            return nghttp2_submit_request(session, nil, nva, count, nil, nil)
        }
        try check(streamID, "nghttp2_submit_request")
        if needsProvider {
            requestBodies[streamID] = RequestBody(bytes: body ?? [], endStream: endStream)
        }
        responses[streamID] = HTTP2StreamResponse(streamID: streamID)
        return streamID
    }

    /// Appends request body bytes to a stream opened with `endStream: false` (gRPC client
    /// and bidirectional streaming). `endStream` half-closes after these bytes.
    public func submitData(stream streamID: Int32, bytes: [UInt8], endStream: Bool = false) throws {
        let session = try liveSession("submitData")
        guard var body = requestBodies[streamID], !body.endStream else {
            throw HTTP2SessionError(operation: "submitData", code: 0,
                                    message: "stream \(streamID) has no open request body")
        }
        body.bytes += bytes
        body.endStream = endStream
        let wasDeferred = body.deferred
        body.deferred = false
        requestBodies[streamID] = body
        if wasDeferred {
            try check(nghttp2_session_resume_data(session, streamID), "nghttp2_session_resume_data")
        }
    }

    /// Queues a PING; `opaque` goes on the wire big-endian.
    public func submitPing(opaque: UInt64) throws {
        let session = try liveSession("nghttp2_submit_ping")
        var bytes = opaque.bigEndian
        let rv = withUnsafeBytes(of: &bytes) {
            nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.bindMemory(to: UInt8.self).baseAddress)
        }
        try check(rv, "nghttp2_submit_ping")
    }

    public func submitRstStream(stream streamID: Int32, code: HTTP2ErrorCode = .cancel) throws {
        let session = try liveSession("nghttp2_submit_rst_stream")
        try check(nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, code.rawValue),
                  "nghttp2_submit_rst_stream")
    }

    /// Queues a GOAWAY. `lastStreamID` defaults to the last peer stream nghttp2 processed
    /// (0 for a client that accepted no pushes). Streams the client opened keep running.
    public func submitGoAway(lastStreamID: Int32? = nil, code: HTTP2ErrorCode = .noError,
                             debugData: [UInt8] = []) throws {
        let session = try liveSession("nghttp2_submit_goaway")
        let last = lastStreamID ?? nghttp2_session_get_last_proc_stream_id(session)
        let rv = debugData.withUnsafeBufferPointer {
            nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, code.rawValue,
                                  $0.baseAddress, $0.count)
        }
        try check(rv, "nghttp2_submit_goaway")
    }

    /// Queues a SETTINGS frame.
    public func submitSettings(_ entries: [HTTP2Setting]) throws {
        let session = try liveSession("nghttp2_submit_settings")
        var iv = entries.map { nghttp2_settings_entry(settings_id: Int32($0.identifier.rawValue), value: $0.value) }
        try check(nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count),
                  "nghttp2_submit_settings")
    }

    /// Queues a WINDOW_UPDATE (stream 0 for the connection).
    public func submitWindowUpdate(stream streamID: Int32, increment: Int32) throws {
        let session = try liveSession("nghttp2_submit_window_update")
        try check(nghttp2_submit_window_update(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, increment),
                  "nghttp2_submit_window_update")
    }

    /// Ends the session: GOAWAY with `code` and the last processed stream id; after it is
    /// flushed nghttp2 wants neither reads nor writes. The caller closes the socket.
    public func terminate(code: HTTP2ErrorCode = .noError) throws {
        let session = try liveSession("nghttp2_session_terminate_session")
        try check(nghttp2_session_terminate_session(session, code.rawValue), "nghttp2_session_terminate_session")
    }

    // MARK: - Helpers

    private func liveSession(_ operation: String) throws -> OpaquePointer {
        guard let session else {
            throw HTTP2SessionError(operation: operation, code: 0, message: "no nghttp2 session")
        }
        return session
    }

    private func check<T: BinaryInteger>(_ rv: T, _ operation: String) throws {
        if rv < 0 {
            let code = Int32(truncatingIfNeeded: rv)
            throw HTTP2SessionError(operation: operation, code: code, message: nghttp2Message(code))
        }
    }

    private func emit(_ event: HTTP2SessionEvent) { onEvent?(event) }

    private func updateResponse(_ streamID: Int32, _ change: (inout HTTP2StreamResponse) -> Void) {
        guard streamID != 0 else { return }
        var response = responses[streamID] ?? HTTP2StreamResponse(streamID: streamID)
        change(&response)
        responses[streamID] = response
    }

    // MARK: - nghttp2 callbacks (reached through user_data)

    fileprivate static func session(_ userData: UnsafeMutableRawPointer?) -> HTTP2ClientSession? {
        userData.map { Unmanaged<HTTP2ClientSession>.fromOpaque($0).takeUnretainedValue() }
    }

    fileprivate func readRequestBody(stream streamID: Int32, into buffer: UnsafeMutablePointer<UInt8>,
                                     capacity: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard var body = requestBodies[streamID] else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let available = body.bytes.count - body.offset
        if available == 0 {
            if body.endStream {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                requestBodies[streamID] = nil
                return 0
            }
            body.deferred = true
            requestBodies[streamID] = body
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        let count = min(available, capacity)
        body.bytes.withUnsafeBufferPointer { source in
            buffer.update(from: source.baseAddress! + body.offset, count: count)
        }
        body.offset += count
        if body.offset == body.bytes.count {
            body.bytes.removeAll(keepingCapacity: true)
            body.offset = 0
            if body.endStream {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                requestBodies[streamID] = nil
                return count
            }
        } else if body.offset >= 64 * 1024 {
            body.bytes.removeFirst(body.offset)
            body.offset = 0
        }
        requestBodies[streamID] = body
        return count
    }

    fileprivate func beginHeaders() {
        inboundFields.removeAll(keepingCapacity: true)
    }

    fileprivate func header(_ field: HTTP2Header) {
        inboundFields.append(field)
    }

    fileprivate func frameReceived(_ raw: UnsafePointer<nghttp2_frame>) {
        let type = HTTP2FrameType(raw.pointee.hd.type)
        let isHeaderBlock = type == .headers || type == .pushPromise
        let frame = HTTP2Frame(raw, fields: isHeaderBlock ? inboundFields : nil)
        if isHeaderBlock { inboundFields.removeAll(keepingCapacity: true) }
        let streamID = frame.streamID
        switch frame.payload {
        case let .headers(headers):
            let fields = headers.fields ?? []
            updateResponse(streamID) { response in
                if let status = fields.first(where: { $0.name == ":status" }).flatMap({ Int($0.value) }) {
                    if (100..<200).contains(status) {
                        response.informational.append(fields)
                    } else {
                        response.status = status
                        response.headers = fields
                    }
                } else if response.status != nil {
                    response.trailers = fields
                } else {
                    response.headers = fields
                }
                if headers.endStream { response.endStreamReceived = true }
            }
        case let .data(_, endStream, _):
            updateResponse(streamID) { response in
                response.dataFrames += 1
                if endStream { response.endStreamReceived = true }
            }
        default:
            break
        }
        emit(.frame(.inbound, frame))
    }

    fileprivate func invalidFrameReceived(_ raw: UnsafePointer<nghttp2_frame>, code: Int32) {
        let type = HTTP2FrameType(raw.pointee.hd.type)
        let isHeaderBlock = type == .headers || type == .pushPromise
        let frame = HTTP2Frame(raw, fields: isHeaderBlock ? inboundFields : nil)
        if isHeaderBlock { inboundFields.removeAll(keepingCapacity: true) }
        emit(.invalidFrame(frame, HTTP2SessionError(operation: "inbound \(type.name)", code: code,
                                                    message: nghttp2Message(code))))
    }

    fileprivate func dataChunkReceived(stream streamID: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
        updateResponse(streamID) { $0.dataBytes += bytes.count }
        onData?(streamID, Array(bytes))
    }

    fileprivate func frameSent(_ raw: UnsafePointer<nghttp2_frame>) {
        emit(.frame(.outbound, HTTP2Frame(raw, fields: nil)))
    }

    fileprivate func frameNotSent(_ raw: UnsafePointer<nghttp2_frame>, code: Int32) {
        let frame = HTTP2Frame(raw, fields: nil)
        emit(.frameNotSent(frame, HTTP2SessionError(operation: "send \(frame.type.name)", code: code,
                                                    message: nghttp2Message(code))))
    }

    fileprivate func streamClosed(_ streamID: Int32, code: UInt32) {
        requestBodies[streamID] = nil
        updateResponse(streamID) { $0.closeErrorCode = HTTP2ErrorCode(code) }
        emit(.streamClosed(streamID: streamID, errorCode: HTTP2ErrorCode(code)))
    }

    fileprivate func invalidHeader(stream streamID: Int32, _ field: HTTP2Header) {
        emit(.invalidHeader(streamID: streamID, field))
    }

    fileprivate func libraryError(code: Int32, message: String) {
        emit(.error(HTTP2SessionError(operation: "nghttp2", code: code, message: message)))
    }

    private static func install(_ callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, _, userData in
            HTTP2ClientSession.session(userData)?.beginHeaders()
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, _, name, nameLength, value, valueLength, _, userData in
            HTTP2ClientSession.session(userData)?.header(
                HTTP2Header(headerString(name, nameLength), headerString(value, valueLength)))
            return 0
        }
        nghttp2_session_callbacks_set_on_invalid_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            HTTP2ClientSession.session(userData)?.invalidHeader(
                stream: frame?.pointee.hd.stream_id ?? 0,
                HTTP2Header(headerString(name, nameLength), headerString(value, valueLength)))
            // Keep nghttp2's default: reset the stream with PROTOCOL_ERROR.
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            if let frame { HTTP2ClientSession.session(userData)?.frameReceived(frame) }
            return 0
        }
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks) { _, frame, code, userData in
            if let frame { HTTP2ClientSession.session(userData)?.invalidFrameReceived(frame, code: code) }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            HTTP2ClientSession.session(userData)?.dataChunkReceived(
                stream: streamID, UnsafeBufferPointer(start: data, count: data == nil ? 0 : length))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            if let frame { HTTP2ClientSession.session(userData)?.frameSent(frame) }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks) { _, frame, code, userData in
            if let frame { HTTP2ClientSession.session(userData)?.frameNotSent(frame, code: code) }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, code, userData in
            HTTP2ClientSession.session(userData)?.streamClosed(streamID, code: code)
            return 0
        }
        nghttp2_session_callbacks_set_error_callback2(callbacks) { _, code, message, length, userData in
            let text = message.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
            HTTP2ClientSession.session(userData)?.libraryError(code: code, message: text)
            return 0
        }
    }
}

/// nghttp2 data provider callback: hands out the stream's queued request body.
private func readRequestBodyCallback(
    _ session: OpaquePointer?, _ streamID: Int32, _ buffer: UnsafeMutablePointer<UInt8>?, _ length: Int,
    _ flags: UnsafeMutablePointer<UInt32>?, _ source: UnsafeMutablePointer<nghttp2_data_source>?,
    _ userData: UnsafeMutableRawPointer?
) -> Int {
    guard let owner = HTTP2ClientSession.session(userData), let buffer, let flags else {
        return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
    }
    return owner.readRequestBody(stream: streamID, into: buffer, capacity: length, flags: flags)
}

/// Calls `body` with an nghttp2_nv array for `fields` (nghttp2 copies it during submit).
private func withNVArray<R>(_ fields: [HTTP2Header], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
    var storage: [UInt8] = []
    var spans: [(name: Int, nameLength: Int, value: Int, valueLength: Int)] = []
    for field in fields {
        let name = storage.count
        storage.append(contentsOf: field.name.utf8)
        let value = storage.count
        storage.append(contentsOf: field.value.utf8)
        spans.append((name, value - name, value, storage.count - value))
    }
    storage.append(0) // never empty, so the base address exists
    return storage.withUnsafeMutableBufferPointer { bytes in
        let base = bytes.baseAddress!
        let nva = spans.map {
            nghttp2_nv(name: base + $0.name, value: base + $0.value, namelen: $0.nameLength,
                       valuelen: $0.valueLength, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        }
        return nva.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}

/// nghttp2's text for a library error code.
func nghttp2Message(_ code: Int32) -> String {
    nghttp2_strerror(code).map { String(cString: $0) } ?? "unknown nghttp2 error"
}

