/// One HTTP/2 frame: the stream it belongs to, its header fields and a typed payload.
///
/// Modelled after swift-nio-http2's `HTTP2Frame`, but a frame here is a record of what was
/// on the wire (or what nghttp2 sent or received), so it also keeps the raw flags and the
/// payload length from the frame header, and DATA carries byte counts instead of bytes.
public struct HTTP2Frame: Hashable, Sendable, CustomStringConvertible {
    /// 31-bit stream identifier; 0 for connection-level frames.
    public var streamID: Int32
    /// The flags octet exactly as sent.
    public var flags: HTTP2FrameFlags
    /// The payload length from the 9-byte frame header (padding included).
    public var length: Int
    public var payload: Payload

    public init(streamID: Int32, flags: HTTP2FrameFlags = [], length: Int, payload: Payload) {
        self.streamID = streamID
        self.flags = flags
        self.length = length
        self.payload = payload
    }

    public enum Payload: Hashable, Sendable {
        /// `length` counts the data bytes only (padding and the pad-length octet excluded).
        case data(length: Int, endStream: Bool, padded: Bool)
        case headers(Headers)
        case priority(HTTP2PrioritySpec)
        case rstStream(HTTP2ErrorCode)
        case settings(ack: Bool, [HTTP2Setting])
        case pushPromise(PushPromise)
        /// `opaque` is the 8 opaque bytes read as a big-endian integer.
        case ping(ack: Bool, opaque: UInt64)
        case goAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode, debugData: [UInt8])
        case windowUpdate(increment: UInt32)
        /// A CONTINUATION frame; its header block fragment is decoded with the HEADERS or
        /// PUSH_PROMISE frame it continues.
        case continuation(endHeaders: Bool)
        /// A frame type this model does not decode (ALTSVC, ORIGIN, PRIORITY_UPDATE, ...).
        case unknown(type: HTTP2FrameType, flags: UInt8, length: Int)
    }

    /// The HEADERS payload. `fields` is nil when the header block could not be decoded
    /// (for example the capture began after the HPACK dynamic table was filled); then
    /// `undecodableReason` says why.
    public struct Headers: Hashable, Sendable {
        public var fields: [HTTP2Header]?
        public var endStream: Bool
        public var endHeaders: Bool
        public var padded: Bool
        public var priority: HTTP2PrioritySpec?
        public var undecodableReason: String?

        public init(fields: [HTTP2Header]?, endStream: Bool, endHeaders: Bool = true,
                    padded: Bool = false, priority: HTTP2PrioritySpec? = nil,
                    undecodableReason: String? = nil) {
            self.fields = fields
            self.endStream = endStream
            self.endHeaders = endHeaders
            self.padded = padded
            self.priority = priority
            self.undecodableReason = undecodableReason
        }

        /// The value of the first field called `name` (names are lowercase in HTTP/2).
        public func value(_ name: String) -> String? {
            fields?.first(where: { $0.name == name })?.value
        }
    }

    public struct PushPromise: Hashable, Sendable {
        public var promisedStreamID: Int32
        public var fields: [HTTP2Header]?
        public var endHeaders: Bool
        public var padded: Bool
        public var undecodableReason: String?

        public init(promisedStreamID: Int32, fields: [HTTP2Header]?, endHeaders: Bool = true,
                    padded: Bool = false, undecodableReason: String? = nil) {
            self.promisedStreamID = promisedStreamID
            self.fields = fields
            self.endHeaders = endHeaders
            self.padded = padded
            self.undecodableReason = undecodableReason
        }
    }

    /// The frame type, derived from the payload.
    public var type: HTTP2FrameType {
        switch payload {
        case .data: return .data
        case .headers: return .headers
        case .priority: return .priority
        case .rstStream: return .rstStream
        case .settings: return .settings
        case .pushPromise: return .pushPromise
        case .ping: return .ping
        case .goAway: return .goAway
        case .windowUpdate: return .windowUpdate
        case .continuation: return .continuation
        case .unknown(let type, _, _): return type
        }
    }

    /// Bytes on the wire: the 9-byte frame header plus the payload.
    public var wireLength: Int { 9 + length }

    public var description: String {
        var text = "\(type.name) stream=\(streamID)"
        switch payload {
        case let .data(length, endStream, padded):
            text += " len=\(length)" + (endStream ? " END_STREAM" : "") + (padded ? " PADDED" : "")
        case let .headers(h):
            if h.endStream { text += " END_STREAM" }
            if !h.endHeaders { text += " (no END_HEADERS)" }
            if let fields = h.fields {
                text += " [" + fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
            } else {
                text += " <undecodable: \(h.undecodableReason ?? "unknown")>"
            }
        case let .priority(p):
            text += " \(p)"
        case let .rstStream(code):
            text += " \(code.name)"
        case let .settings(ack, settings):
            text += ack ? " ACK" : " " + settings.map(\.description).joined(separator: " ")
        case let .pushPromise(p):
            text += " promised=\(p.promisedStreamID)"
        case let .ping(ack, opaque):
            text += (ack ? " ACK" : "") + " opaque=\(hexName(opaque))"
        case let .goAway(last, code, debug):
            text += " last_stream_id=\(last) \(code.name)"
            if !debug.isEmpty { text += " debug=\"\(String(decoding: debug, as: UTF8.self))\"" }
        case let .windowUpdate(increment):
            text += " increment=\(increment)"
        case let .continuation(endHeaders):
            text += " len=\(length)" + (endHeaders ? " END_HEADERS" : "")
        case let .unknown(_, flags, length):
            text += " flags=\(hexName(flags)) len=\(length)"
        }
        return text
    }
}

/// One decoded header field. HTTP/2 field names are lowercase; bytes that are not UTF-8
/// are shown with replacement characters (this is a diagnostic record, not a proxy).
public struct HTTP2Header: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

/// The RFC 7540 priority fields of a HEADERS or PRIORITY frame.
public struct HTTP2PrioritySpec: Hashable, Sendable, CustomStringConvertible {
    public var dependency: Int32
    /// 1...256 (the wire octet plus one).
    public var weight: Int
    public var exclusive: Bool

    public init(dependency: Int32, weight: Int, exclusive: Bool) {
        self.dependency = dependency
        self.weight = weight
        self.exclusive = exclusive
    }

    public var description: String {
        "depends_on=\(dependency) weight=\(weight)" + (exclusive ? " exclusive" : "")
    }
}

/// Which way a frame went, seen from this endpoint.
public enum HTTP2Direction: String, Hashable, Sendable {
    case outbound = "out"
    case inbound = "in"
}
