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
        var fields: [HTTP2Header] = []
        let failure = block.withUnsafeBytes { raw in
            decode(raw) { name, value in
                fields.append(HTTP2Header(headerString(name), headerString(value)))
            }
        }
        if let failure { return .failure(failure) }
        return .success(fields)
    }

    /// Decode one complete header block in place: nghttp2 reads `block` directly and each
    /// field is handed to `visit` as views into nghttp2's memory, valid only during the
    /// call. Nothing is copied or allocated per field. On failure the context is reset and
    /// the reason returned (fields visited before the failure were still visited).
    func decode(_ block: UnsafeRawBufferPointer,
                visit: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) -> HPACKFailure? {
        guard let inflater else {
            reset()
            return HPACKFailure(reason: "HPACK inflater could not be allocated")
        }
        // nghttp2 wants a non-null pointer even for an empty block.
        var empty: UInt8 = 0
        let failure: HPACKFailure? = withUnsafeMutablePointer(to: &empty) { emptyPointer in
            var input = block.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(emptyPointer)
            let total = block.count
            var remaining = total
            var decodedSize = 0
            // Every iteration either consumes input or emits a field; the bound is a guard
            // against a library bug, not a real limit.
            var iterations = 0
            while iterations <= 2 * total + 16 {
                iterations += 1
                var nv = nghttp2_nv()
                var flags: Int32 = 0
                let rv = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, input, remaining, 1)
                if rv < 0 {
                    return HPACKFailure(reason: "HPACK decoding failed: \(nghttp2ErrorText(Int32(truncatingIfNeeded: rv)))"
                        + " at byte \(total - remaining) of \(total)")
                }
                let consumed = min(Int(rv), remaining)
                input += consumed
                remaining -= consumed
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                    decodedSize += nv.namelen + nv.valuelen + 32
                    if decodedSize > maxDecodedSize {
                        return HPACKFailure(reason: "decoded header list exceeds \(maxDecodedSize) bytes")
                    }
                    visit(UnsafeRawBufferPointer(start: nv.name, count: nv.name == nil ? 0 : nv.namelen),
                          UnsafeRawBufferPointer(start: nv.value, count: nv.value == nil ? 0 : nv.valuelen))
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                    nghttp2_hd_inflate_end_headers(inflater)
                    return nil
                } else if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) == 0 && remaining == 0 {
                    return HPACKFailure(reason: "HPACK block ended inside a field representation")
                }
            }
            return HPACKFailure(reason: "HPACK decoding made no progress")
        }
        if failure != nil { reset() }
        return failure
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

func headerString(_ bytes: UnsafeRawBufferPointer) -> String {
    bytes.isEmpty ? "" : String(decoding: bytes, as: UTF8.self)
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
