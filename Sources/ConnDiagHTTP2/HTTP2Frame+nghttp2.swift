import CNghttp2

extension HTTP2Frame {
    /// Converts a frame nghttp2 hands to a callback. `fields` are the header fields
    /// collected by on_header_callback (inbound); for outbound HEADERS they are read from
    /// the frame's own name/value list.
    init(_ raw: UnsafePointer<nghttp2_frame>, fields: [HTTP2Header]?) {
        let hd = raw.pointee.hd
        let flags = HTTP2FrameFlags(rawValue: hd.flags)
        let type = HTTP2FrameType(hd.type)
        let length = hd.length
        let payload: Payload
        switch type {
        case .data:
            let padLength = raw.pointee.data.padlen
            payload = .data(length: max(0, length - padLength), endStream: flags.contains(.endStream),
                            padded: flags.contains(.padded))
        case .headers:
            let h = raw.pointee.headers
            let list = fields ?? nvList(h.nva, h.nvlen)
            payload = .headers(Headers(fields: list, endStream: flags.contains(.endStream),
                                       endHeaders: flags.contains(.endHeaders),
                                       padded: flags.contains(.padded),
                                       priority: flags.contains(.priority) ? HTTP2PrioritySpec(h.pri_spec) : nil))
        case .priority:
            payload = .priority(HTTP2PrioritySpec(raw.pointee.priority.pri_spec))
        case .rstStream:
            payload = .rstStream(HTTP2ErrorCode(raw.pointee.rst_stream.error_code))
        case .settings:
            let s = raw.pointee.settings
            var entries: [HTTP2Setting] = []
            if let iv = s.iv {
                for i in 0..<s.niv {
                    entries.append(HTTP2Setting(HTTP2SettingIdentifier(UInt16(truncatingIfNeeded: iv[i].settings_id)),
                                                iv[i].value))
                }
            }
            payload = .settings(ack: flags.contains(.ack), entries)
        case .pushPromise:
            let p = raw.pointee.push_promise
            let list = fields ?? nvList(p.nva, p.nvlen)
            payload = .pushPromise(PushPromise(promisedStreamID: p.promised_stream_id, fields: list,
                                               endHeaders: flags.contains(.endHeaders),
                                               padded: flags.contains(.padded)))
        case .ping:
            var opaque: UInt64 = 0
            withUnsafeBytes(of: raw.pointee.ping.opaque_data) { bytes in
                for byte in bytes { opaque = opaque << 8 | UInt64(byte) }
            }
            payload = .ping(ack: flags.contains(.ack), opaque: opaque)
        case .goAway:
            let g = raw.pointee.goaway
            let debug = g.opaque_data.map { Array(UnsafeBufferPointer(start: $0, count: g.opaque_data_len)) } ?? []
            payload = .goAway(lastStreamID: g.last_stream_id, errorCode: HTTP2ErrorCode(g.error_code), debugData: debug)
        case .windowUpdate:
            payload = .windowUpdate(increment: UInt32(bitPattern: raw.pointee.window_update.window_size_increment))
        case .continuation:
            payload = .continuation(endHeaders: flags.contains(.endHeaders))
        default:
            payload = .unknown(type: type, flags: hd.flags, length: length)
        }
        self.init(streamID: hd.stream_id, flags: flags, length: length, payload: payload)
    }
}

extension HTTP2PrioritySpec {
    init(_ spec: nghttp2_priority_spec) {
        self.init(dependency: spec.stream_id, weight: Int(spec.weight), exclusive: spec.exclusive != 0)
    }
}

private func nvList(_ nva: UnsafeMutablePointer<nghttp2_nv>?, _ count: Int) -> [HTTP2Header] {
    guard let nva else { return [] }
    return (0..<count).map { HTTP2Header(nva[$0]) }
}
