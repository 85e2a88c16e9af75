import CNghttp2

/// One direction's HPACK decoding context, backed by nghttp2's standalone inflater.
///
/// When a block fails to decode (typically because a capture began after the peer filled
/// its dynamic table, so an index points at an entry we never saw) the inflater is thrown
/// away and a fresh one started. That keeps later results trustworthy: a fresh table holds
/// exactly the newest entries the encoder inserted since the reset, at the same indices
/// the encoder uses, and any reference beyond them fails instead of decoding wrongly.
final class HPACKInflater {
    private var inflater: OpaquePointer?
    /// Stop decoding a block whose decoded size (RFC 9113 accounting: name + value + 32
    /// per field) exceeds this; HPACK can expand a small block a thousandfold.
    let maxDecodedSize: Int
    /// SETTINGS_HEADER_TABLE_SIZE the decoding side advertised (the encoder may use up to it).
    let maxTableSize: Int

    init(maxDecodedSize: Int, maxTableSize: Int = HTTP2Defaults.headerTableSize) {
        self.maxDecodedSize = maxDecodedSize
        self.maxTableSize = maxTableSize
        self.inflater = Self.makeInflater(maxTableSize: maxTableSize)
    }

    deinit {
        if let inflater { nghttp2_hd_inflate_del(inflater) }
    }

    private static func makeInflater(maxTableSize: Int) -> OpaquePointer? {
        var pointer: OpaquePointer?
        guard nghttp2_hd_inflate_new(&pointer) == 0, let pointer else { return nil }
        if maxTableSize != HTTP2Defaults.headerTableSize {
            _ = nghttp2_hd_inflate_change_table_size(pointer, max(0, maxTableSize))
        }
        return pointer
    }

    /// Forget the dynamic table (a header block was lost or could not be decoded).
    func reset() {
        if let inflater { nghttp2_hd_inflate_del(inflater) }
        inflater = Self.makeInflater(maxTableSize: maxTableSize)
    }

    /// Decode one complete header block. On failure the context is reset and the reason
    /// returned.
    func decode(_ block: [UInt8]) -> Result<[HTTP2Header], HPACKFailure> {
        guard let inflater else {
            reset()
            return .failure(HPACKFailure(reason: "HPACK inflater could not be allocated"))
        }
        var fields: [HTTP2Header] = []
        var decodedSize = 0
        var failure: HPACKFailure?
        // nghttp2 wants a non-null pointer even for an empty block.
        let storage = block.isEmpty ? [0] : block
        storage.withUnsafeBufferPointer { buffer in
            guard var input = buffer.baseAddress else { return }
            var remaining = block.count
            var finished = false
            // Every iteration either consumes input or emits a field; the bound is a guard
            // against a library bug, not a real limit.
            var iterations = 0
            while !finished && iterations <= 2 * block.count + 16 {
                iterations += 1
                var nv = nghttp2_nv()
                var flags: Int32 = 0
                let rv = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, input, remaining, 1)
                if rv < 0 {
                    failure = HPACKFailure(reason: "HPACK decoding failed: \(nghttp2ErrorText(Int32(truncatingIfNeeded: rv)))"
                        + " at byte \(block.count - remaining) of \(block.count)")
                    return
                }
                let consumed = min(Int(rv), remaining)
                input += consumed
                remaining -= consumed
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                    decodedSize += nv.namelen + nv.valuelen + 32
                    if decodedSize > maxDecodedSize {
                        failure = HPACKFailure(reason: "decoded header list exceeds \(maxDecodedSize) bytes")
                        return
                    }
                    fields.append(HTTP2Header(nv))
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                    nghttp2_hd_inflate_end_headers(inflater)
                    finished = true
                } else if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) == 0 && remaining == 0 {
                    failure = HPACKFailure(reason: "HPACK block ended inside a field representation")
                    return
                }
            }
            if !finished && failure == nil {
                failure = HPACKFailure(reason: "HPACK decoding made no progress")
            }
        }
        if let failure {
            reset()
            return .failure(failure)
        }
        return .success(fields)
    }
}

struct HPACKFailure: Error {
    var reason: String
}

extension HTTP2Header {
    /// Copy a name/value pair out of nghttp2 memory.
    init(_ nv: nghttp2_nv) {
        self.init(headerString(nv.name, nv.namelen), headerString(nv.value, nv.valuelen))
    }
}

func headerString(_ pointer: UnsafePointer<UInt8>?, _ length: Int) -> String {
    guard let pointer, length > 0 else { return "" }
    return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
}

func headerString(_ pointer: UnsafeMutablePointer<UInt8>?, _ length: Int) -> String {
    headerString(pointer.map { UnsafePointer($0) }, length)
}

/// "Invalid argument (-501)" for an nghttp2 library error code.
func nghttp2ErrorText(_ code: Int32) -> String {
    let text = nghttp2_strerror(code).map { String(cString: $0) } ?? "unknown error"
    return "\(text) (\(code))"
}
