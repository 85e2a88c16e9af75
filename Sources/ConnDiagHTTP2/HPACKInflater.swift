import CNghttp2
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

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
    private(set) var maxTableSize: Int

    init(maxDecodedSize: Int, maxTableSize: Int = HTTP2Defaults.headerTableSize) {
        self.maxDecodedSize = maxDecodedSize
        self.maxTableSize = maxTableSize
        self.inflater = Self.makeInflater(maxTableSize: maxTableSize)
    }

    deinit {
        if let inflater { nghttp2_hd_inflate_del(inflater) }
        replay.deallocate()
    }

    /// The last block that decoded and held no field that changes the dynamic table (only
    /// indexed fields and literals not added to the table), with its fields once it has
    /// arrived twice in a row (only its bytes the first time). Such a block leaves the
    /// dynamic table as it was, so while no other block went through this context since, the
    /// same bytes decode to the same fields: they are handed out again without asking
    /// nghttp2 (a client repeats its request headers, a server its response headers, block
    /// after block).
    private let replay = ReplayCache()
    /// Changes whenever a block is decoded by nghttp2 (or the context is reset), not when a
    /// block is replayed: two blocks decoded under the same generation, the second a replay,
    /// had the same fields.
    private(set) var generation = 0

    /// True when `block` would be replayed: it decodes to the fields of the last block.
    @inline(__always)
    func isReplay(_ block: UnsafeRawBufferPointer) -> Bool { replay.valid && replay.matches(block) }

    private static func makeInflater(maxTableSize: Int) -> OpaquePointer? {
        var pointer: OpaquePointer?
        guard nghttp2_hd_inflate_new(&pointer) == 0, let pointer else { return nil }
        if maxTableSize != HTTP2Defaults.headerTableSize {
            _ = nghttp2_hd_inflate_change_table_size(pointer, max(0, maxTableSize))
        }
        return pointer
    }

    /// The decoding side advertised `size`: a dynamic table size update up to it is legal.
    /// Raising the limit leaves the table as it is (nghttp2 expects no update for a raise).
    func allowTableSize(_ size: Int) {
        let size = min(max(0, size), Int(UInt32.max))
        guard size > maxTableSize else { return }
        maxTableSize = size
        if let inflater { _ = nghttp2_hd_inflate_change_table_size(inflater, size) }
    }

    /// Forget the dynamic table (a header block was lost or could not be decoded).
    func reset() {
        replay.valid = false
        replay.pending = false
        generation &+= 1
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
        let cache = replay
        if cache.valid && cache.matches(block) {
            cache.visitFields(visit)
            return nil
        }
        // Only a block that leaves the table alone is kept for replay; any other block may change the
        // dynamic table, so what was kept no longer holds. Its fields are kept only when it
        // arrives a second time in a row (its bytes are kept the first time): blocks that
        // never repeat (paths, sizes and dates that differ) cost no copy of their fields.
        let neutral = ReplayCache.leavesTableUnchanged(block)
        let indexedOnly = neutral && cache.pending && cache.matches(block)
        cache.valid = false
        cache.pending = false
        generation &+= 1
        if indexedOnly { cache.beginFields() } else if neutral { cache.begin(block) }
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
                    let name = UnsafeRawBufferPointer(start: nv.name, count: nv.name == nil ? 0 : nv.namelen)
                    let value = UnsafeRawBufferPointer(start: nv.value, count: nv.value == nil ? 0 : nv.valuelen)
                    if indexedOnly { cache.add(name, value) }
                    visit(name, value)
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                    nghttp2_hd_inflate_end_headers(inflater)
                    if indexedOnly { cache.valid = true } else if neutral { cache.pending = true }
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

/// The block and fields `HPACKInflater` replays (raw memory reused from block to block).
final class ReplayCache {
    /// The fields are those of the block held: it may be replayed.
    var valid = false
    /// The block held is the last one decoded (it left the table alone); its fields are not
    /// held yet.
    var pending = false
    private var block: UnsafeMutableRawPointer
    private var blockCapacity = 256
    private var blockCount = 0
    private let fields = HeaderFieldBuffer(byteCapacity: 1024, fieldCapacity: 32)

    init() {
        block = .allocate(byteCount: blockCapacity, alignment: 8)
    }

    func deallocate() {
        block.deallocate()
    }

    /// True when no field representation in `block` can change the dynamic table (RFC 7541
    /// 6): indexed fields, literals without indexing and never-indexed literals only; no
    /// literal with incremental indexing, no table size update. False when the block does
    /// not parse as such (nghttp2 then decides).
    static func leavesTableUnchanged(_ block: UnsafeRawBufferPointer) -> Bool {
        let n = block.count
        guard n > 0 && n <= 4096 else { return false }
        var i = 0
        /// A prefix integer whose first byte is at `i` (RFC 7541 5.1); nil when malformed.
        @inline(__always)
        func integer(_ prefixBits: Int) -> Int? {
            guard i < n else { return nil }
            let mask = (1 << prefixBits) - 1
            var v = Int(block[i]) & mask
            i &+= 1
            guard v == mask else { return v }
            var shift = 0
            while true {
                guard i < n, shift <= 21 else { return nil }
                let c = block[i]
                i &+= 1
                v &+= Int(c & 0x7F) << shift
                shift &+= 7
                if c & 0x80 == 0 { return v }
            }
        }
        /// Skips a string literal (H bit, 7-bit prefix length, bytes).
        @inline(__always)
        func skipString() -> Bool {
            guard let length = integer(7), length <= n &- i else { return false }
            i &+= length
            return true
        }
        while i < n {
            let b = block[i]
            if b & 0x80 != 0 {
                guard integer(7) != nil else { return false }
            } else if b & 0xE0 == 0 {
                // Literal without indexing (0000) or never indexed (0001): 4-bit name index.
                guard let index = integer(4) else { return false }
                if index == 0 { guard skipString() else { return false } }
                guard skipString() else { return false }
            } else {
                return false
            }
        }
        return true
    }

    @inline(__always)
    func matches(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count == blockCount, let base = b.baseAddress else { return false }
        return memcmp(block, base, blockCount) == 0
    }

    func begin(_ b: UnsafeRawBufferPointer) {
        if b.count > blockCapacity {
            block.deallocate()
            blockCapacity = max(b.count, 2 * blockCapacity)
            block = .allocate(byteCount: blockCapacity, alignment: 8)
        }
        if let base = b.baseAddress, b.count > 0 { block.copyMemory(from: base, byteCount: b.count) }
        blockCount = b.count
        fields.reset()
    }

    /// The block held arrived again: its fields are recorded while it decodes.
    func beginFields() { fields.reset() }

    func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) { fields.add(name, value) }

    func visitFields(_ visit: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        fields.visitFields(visit)
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
