import ConnDiagCore
import ConnDiagHTTP2

/// HTTP/2 frames as timeline events (source `h2`), with the contract's kinds and fields:
/// the one wording for the live session and for capture analysis.
public enum HTTP2FrameEvent {
    /// What the observer knows about a frame beyond its bytes.
    public struct Notes: Sendable {
        /// HEADERS that follow the stream's first HEADERS from the same side.
        public var isTrailers = false
        /// PING ACK: the round trip since its PING.
        public var pingRTT: Double?
        /// PING ACK whose PING the capture does not hold.
        public var pingNotCaptured = false
        /// WINDOW_UPDATE that reopened the other side's used-up send window after this long.
        public var windowReopenedAfter: Double?

        public init(isTrailers: Bool = false, pingRTT: Double? = nil, pingNotCaptured: Bool = false,
                    windowReopenedAfter: Double? = nil) {
            self.isTrailers = isTrailers
            self.pingRTT = pingRTT
            self.pingNotCaptured = pingNotCaptured
            self.windowReopenedAfter = windowReopenedAfter
        }
    }

    static let interestingHeaders: Set<String> = [":method", ":path", ":status", "grpc-status", "grpc-message", "content-type"]

    /// The event for `frame`, sent by `sender`. HEADERS and DATA have their own functions
    /// below for callers that never build the frame (analyze decodes them in place).
    public static func event(_ frame: HTTP2Frame, from sender: HTTP2FrameDecoder.Side, direction: Direction?,
                             at t: Double, notes: Notes = Notes()) -> Event {
        let id = frame.streamID
        let who = sender.rawValue
        var f: [(String, JSONValue)] = [("stream_id", .int(Int64(id))), ("len", .int(Int64(frame.length)))]
        let kind: EventKind
        let detail: String
        switch frame.payload {
        case .settings(let ack, let entries):
            kind = "settings"
            if ack {
                detail = "SETTINGS ACK"
            } else {
                f.append(("settings", .object(entries.map { ($0.identifier.name, .int(Int64($0.value))) })))
                detail = "SETTINGS " + entries.map { "\($0.identifier.name)=\($0.value)" }.joined(separator: " ")
            }
            f.append(("ack", .bool(ack)))
        case .ping(let ack, let opaque):
            f.append(("opaque", .string(hex16(opaque))))
            kind = ack ? "ping-ack" : "ping"
            var text = (ack ? "PING ACK " : "PING ") + hex16(opaque) + " from the \(who)"
            if ack, let rtt = notes.pingRTT {
                f.append(("rtt_ms", .double((rtt * 1e6).rounded() / 1e3)))
                text += ", RTT \(DurationText.elapsed(rtt))"
            } else if ack && notes.pingNotCaptured {
                text += " (its PING was not captured)"
            }
            detail = text
        case .goAway(let last, let code, let debug):
            let text = String(decoding: debug.prefix(256), as: UTF8.self)
            f.append(("last_stream_id", .int(Int64(last))))
            f.append(("error_code", .string(code.name)))
            f.append(("debug_data", .string(text)))
            kind = "goaway"
            var d = "GOAWAY from the \(who) last_stream_id=\(last) \(code.name)" + (text.isEmpty ? "" : " \"\(text)\"")
            if last == Int32.max { d += " — drain announced (A9: the real last-stream-id follows after a PING round trip)" }
            if code == .enhanceYourCalm && text.contains("too_many_pings") { d += " — the client pings more often than the server allows" }
            detail = d
        case .rstStream(let code):
            f.append(("error_code", .string(code.name)))
            kind = "rst-stream"
            detail = "RST_STREAM stream \(id) \(code.name) from the \(who)"
        case .windowUpdate(let increment):
            f.append(("increment", .int(Int64(increment))))
            kind = .windowUpdate
            var d = "WINDOW_UPDATE stream \(id) +\(increment) from the \(who)"
            if let r = notes.windowReopenedAfter {
                let other = sender == .client ? "server" : "client"
                d += " (the \(other)'s send window reopens after \(DurationText.elapsed(r)))"
            }
            detail = d
        case .headers(let h):
            return headers(streamID: id, length: frame.length, endStream: h.endStream, fields: h.fields,
                           undecodable: h.undecodableReason, isTrailers: notes.isTrailers, from: sender, direction: direction, at: t)
        case .data(_, let endStream, _):
            return data(streamID: id, length: frame.length, endStream: endStream, direction: direction, at: t)
        default:
            kind = EventKind(rawValue: String(frame.type.name.lowercased().map { $0 == "_" ? "-" : $0 }))
            detail = frame.description
        }
        return Event(t: t, source: .h2, kind: kind, direction: direction, detail: detail, fields: f)
    }

    /// A HEADERS frame (or trailers): `fields` nil when the block could not be decoded, then
    /// `undecodable` says why.
    public static func headers(streamID id: Int32, length: Int, endStream: Bool, fields: [HTTP2Header]?, undecodable: String?,
                               isTrailers: Bool, from sender: HTTP2FrameDecoder.Side, direction: Direction?, at t: Double) -> Event {
        let name = isTrailers ? "trailers" : "HEADERS"
        var f: [(String, JSONValue)] = [("stream_id", .int(Int64(id))), ("len", .int(Int64(length)))]
        let detail: String
        if let fields {
            let interesting = fields.filter { interestingHeaders.contains($0.name) }
            detail = name + " stream \(id) from the \(sender.rawValue) " + interesting.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            f.append(("headers", .object(fields.map { ($0.name, .string($0.value)) })))
        } else {
            let reason = undecodable ?? "not decodable"
            detail = name + " stream \(id) from the \(sender.rawValue), headers \(reason)"
            f.append(("undecodable", .string(reason)))
        }
        f.append(("end_stream", .bool(endStream)))
        return Event(t: t, source: .h2, kind: isTrailers ? "trailers" : "headers", direction: direction, detail: detail, fields: f)
    }

    /// A DATA frame; `length` is the frame's payload length (what flow control counts).
    public static func data(streamID id: Int32, length: Int, endStream: Bool, direction: Direction?, at t: Double) -> Event {
        Event(t: t, source: .h2, kind: .data, direction: direction,
              detail: "DATA stream \(id) \(length) bytes" + (endStream ? " END_STREAM" : ""),
              fields: [("stream_id", .int(Int64(id))), ("len", .int(Int64(length))), ("end_stream", .bool(endStream))])
    }

    /// A PING's opaque data as 16 hex digits.
    public static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
