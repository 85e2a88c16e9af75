import ConnDiagCore
import ConnDiagHTTP2

/// HTTP/2 frames as timeline events (source `h2`), with the contract's kinds and fields.
enum H2FrameEvents {
    static func event(_ direction: HTTP2Direction, _ frame: HTTP2Frame, at t: Double, isTrailers: Bool) -> Event {
        let dir: Direction = direction == .outbound ? .out : .in
        var f: [(String, JSONValue)] = [("stream_id", .int(Int64(frame.streamID))), ("len", .int(Int64(frame.length)))]
        switch frame.payload {
        case .settings(let ack, let entries):
            f.append(("ack", .bool(ack)))
            if !ack { f.append(("settings", .object(entries.map { ($0.identifier.name, .int(Int64($0.value))) }))) }
            let detail = ack ? "SETTINGS ACK" : "SETTINGS " + entries.map { "\($0.identifier.name)=\($0.value)" }.joined(separator: " ")
            return Event(t: t, source: .h2, kind: "settings", direction: dir, detail: detail, fields: f)
        case .ping(let ack, let opaque):
            f.append(("opaque", .string(hex(opaque))))
            return Event(t: t, source: .h2, kind: ack ? "ping-ack" : "ping", direction: dir,
                         detail: (ack ? "PING ACK " : "PING ") + hex(opaque), fields: f)
        case .headers(let h):
            let fields = h.fields ?? []
            if let reason = h.undecodableReason { f.append(("undecodable", .string(reason))) }
            f.append(("end_stream", .bool(h.endStream)))
            f.append(("headers", .object(fields.map { ($0.name, .string($0.value)) })))
            let interesting = fields.filter { [":method", ":path", ":status", "grpc-status", "grpc-message", "content-type"].contains($0.name) }
            let detail = (isTrailers ? "trailers" : "HEADERS") + " stream \(frame.streamID) " + interesting.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            return Event(t: t, source: .h2, kind: isTrailers ? "trailers" : "headers", direction: dir, detail: detail, fields: f)
        case .data(let length, let endStream, _):
            f.append(("end_stream", .bool(endStream)))
            return Event(t: t, source: .h2, kind: "data", direction: dir,
                         detail: "DATA stream \(frame.streamID) \(length) bytes" + (endStream ? " END_STREAM" : ""), fields: f)
        case .rstStream(let code):
            f.append(("error_code", .string(code.name)))
            return Event(t: t, source: .h2, kind: "rst-stream", direction: dir, detail: "RST_STREAM stream \(frame.streamID) \(code.name)", fields: f)
        case .goAway(let last, let code, let debug):
            let text = String(decoding: debug.prefix(256), as: UTF8.self)
            f.append(("last_stream_id", .int(Int64(last))))
            f.append(("error_code", .string(code.name)))
            f.append(("debug_data", .string(text)))
            return Event(t: t, source: .h2, kind: "goaway", direction: dir,
                         detail: "GOAWAY last_stream_id=\(last) \(code.name)" + (text.isEmpty ? "" : " \"\(text)\""), fields: f)
        case .windowUpdate(let inc):
            f.append(("increment", .int(Int64(inc))))
            return Event(t: t, source: .h2, kind: .windowUpdate, direction: dir, detail: "WINDOW_UPDATE stream \(frame.streamID) +\(inc)", fields: f)
        default:
            return Event(t: t, source: .h2, kind: EventKind(rawValue: frame.type.name.lowercased().replacingUnderscores()), direction: dir,
                         detail: frame.description, fields: f)
        }
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
