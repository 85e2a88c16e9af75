/// Incremental HTTP/2 frame decoder for the bytes of one direction of one connection: the
/// one place that reads frame headers, checks each type's length, stream and padding rules,
/// sequences CONTINUATION and decodes header blocks (nghttp2's HPACK inflater).
///
/// Two ways to use it, with the same decoding behind both:
/// - push, zero-copy (offline analysis): `feed(_:to:)` scans frames where they lie in the
///   bytes handed in, skips DATA payloads, and reports to an `HTTP2FrameSink`; only a frame
///   split across calls is collected in a reused buffer.
/// - pull (live sessions, tests, fuzzing): `append(bytes:)`, then `nextFrame()` until it
///   returns `.needMoreData` (or `.stopped`).
///
/// Every result carries the absolute byte offset (from the first byte fed) where the frame
/// or problem starts, so the caller can map it back onto the segment that carried it.
///
/// Broken input never traps: problems become `.invalid` results and decoding continues
/// with the next frame when the frame boundaries are still known, or `.stopped` when they
/// are not (after which nothing more is decoded).
///
/// HEADERS/PUSH_PROMISE header blocks (including CONTINUATION fragments) are decoded with
/// one HPACK context per decoder, i.e. per direction. A HEADERS frame whose block does not
/// end in the same frame is reported when its last CONTINUATION arrives, followed by the
/// CONTINUATION frames themselves.
public final class HTTP2FrameDecoder {
    /// Which endpoint sent the bytes this decoder sees.
    public enum Side: String, Hashable, Sendable {
        case client
        case server
    }

    public enum Result: Hashable, Sendable {
        /// The client connection preface ("PRI * HTTP/2.0...") was consumed.
        case preface(offset: Int)
        case frame(HTTP2Frame, offset: Int)
        /// Something is wrong at `offset`; decoding goes on.
        case invalid(reason: String, offset: Int)
        /// Only returned by `finish()`: the input ended inside a frame or header block.
        case truncated(reason: String, offset: Int)
        case needMoreData
        /// Frame boundaries are lost (or this is not HTTP/2); nothing more will be decoded.
        case stopped(reason: String, offset: Int)
        /// After a gap in the input (`skipMissing`) that lost the frame boundaries, decoding
        /// resumed at a frame header that validated, at `offset`: `skipped` bytes received
        /// after the gap were passed over to find it.
        case resynchronized(skipped: Int, offset: Int)
    }

    public let side: Side
    /// The receiver's SETTINGS_MAX_FRAME_SIZE. Longer frames are reported as
    /// FRAME_SIZE_ERROR but still decoded. Raise it when the other direction's SETTINGS
    /// allow more.
    public var maxFrameSize: Int
    /// Frames longer than this stop the decoder: the length field is not believed.
    public let frameSizeLimit: Int
    /// Every frame header read, by type: index = type code for DATA...CONTINUATION (0-9),
    /// 10 for any other type. Counts each frame once, whether or not it was valid or kept.
    public private(set) var frameTypeCounts = [Int](repeating: 0, count: 11)
    /// A header block (HEADERS + CONTINUATION fragments) larger than this is not decoded;
    /// a non-DATA frame longer than this is skipped, not collected.
    public let maxHeaderBlockSize: Int
    /// A frame of an unknown type longer than this stops the decoder: real extension frames
    /// are small, so such a header is more likely bytes that are not a frame at all.
    public static let unknownFrameLengthLimit = 1 << 16

    private enum Phase {
        case preface
        case firstFrame
        case frames
        /// Looking for a frame header after a gap lost the frame boundaries.
        case resync
        case stopped
    }

    private struct PendingBlock {
        var offset: Int
        var streamID: Int32
        var frame: HTTP2Frame
        var fragments: [UInt8]
        var continuations: [(HTTP2Frame, Int)] = []
        var oversized = false
    }

    private var phase: Phase
    /// Why and where decoding stopped (phase `.stopped`).
    private var stopped = (reason: "", offset: 0)
    /// The start of a unit (preface or frame) that did not arrive whole, collected here
    /// (reused); `carryOffset` is where it starts.
    private var carry: [UInt8] = []
    private var carryOffset = 0
    /// DATA payload bytes still to skip, and that frame's offset and length (for `finish`).
    private var skipRemaining = 0
    private var skipFrame = (offset: 0, length: 0)
    /// Absolute offset of the next byte fed.
    private var fedOffset = 0
    private var pendingBlock: PendingBlock?
    private let hpack: HPACKInflater
    /// The pull API: bytes appended but not decoded yet, and results not returned yet.
    private var input: [UInt8] = []
    private lazy var queue = ResultQueue()
    private var queueIndex = 0

    /// - Parameters:
    ///   - side: who sent these bytes. With `fromConnectionStart`, the client side must
    ///     begin with the 24-byte preface, and both sides with a SETTINGS frame.
    ///   - fromConnectionStart: false when the capture may have begun mid-connection.
    ///   - maxFrameSize: see `maxFrameSize` (default 16384, the protocol default).
    ///   - frameSizeLimit: see `frameSizeLimit` (default: anything a 24-bit length holds).
    ///   - headerTableSize: the SETTINGS_HEADER_TABLE_SIZE the receiver advertised, when it
    ///     raised it above 4096 (the HPACK encoder of these bytes may use that much).
    public init(side: Side, fromConnectionStart: Bool = true,
                maxFrameSize: Int = HTTP2Defaults.maxFrameSize,
                frameSizeLimit: Int = HTTP2Defaults.maxFrameSizeLimit,
                maxHeaderBlockSize: Int = 1 << 20,
                headerTableSize: Int = HTTP2Defaults.headerTableSize) {
        self.side = side
        self.maxFrameSize = maxFrameSize
        self.frameSizeLimit = frameSizeLimit
        self.maxHeaderBlockSize = maxHeaderBlockSize
        self.hpack = HPACKInflater(maxDecodedSize: max(maxHeaderBlockSize, 64 * 1024),
                                   maxTableSize: headerTableSize)
        if fromConnectionStart {
            phase = side == .client ? .preface : .firstFrame
        } else {
            phase = .frames
        }
    }

    /// Offset of the first byte not yet consumed (skipped DATA bytes count as consumed).
    public var consumedOffset: Int { fedOffset - carry.count - resyncBuffer.count }

    /// Bytes received but not yet consumed.
    public var bufferedByteCount: Int { carry.count + input.count + resyncBuffer.count }

    /// Bytes after gaps passed over while looking for the next frame header (the gaps' own
    /// bytes not included).
    public private(set) var resyncSkippedBytes = 0
    /// Bytes received after a gap, kept while looking for a frame header (`.resync`), and the
    /// absolute offset of the first; bounded by `resyncLimit`.
    private var resyncBuffer: [UInt8] = []
    private var resyncBase = 0
    private var resyncScan = 0
    /// How far past a gap a frame header is looked for before decoding stops.
    public static let resyncLimit = 1 << 20

    /// True once frame boundaries are lost: nothing more will be decoded.
    public var isStopped: Bool { phase == .stopped }

    // MARK: - Pull API

    public func append<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        if phase == .stopped { return }
        input.append(contentsOf: bytes)
    }

    /// The pull API's `skipMissing`: `count` bytes missing after those appended so far
    /// (which are decoded first; their results stay queued for `nextFrame()`).
    @discardableResult
    public func appendMissing(_ count: Int) -> GapEffect {
        let q = queue
        if !input.isEmpty {
            let bytes = input
            input.removeAll(keepingCapacity: true)
            bytes.withUnsafeBytes { feed($0, to: q) }
        }
        return skipMissing(count, to: q)
    }

    /// The next decoded item, `.needMoreData` when the buffered bytes end inside a frame.
    public func nextFrame() -> Result {
        let q = queue
        if queueIndex >= q.results.count && !input.isEmpty {
            q.results.removeAll(keepingCapacity: true)
            queueIndex = 0
            let bytes = input
            input.removeAll(keepingCapacity: true)
            bytes.withUnsafeBytes { feed($0, to: q) }
        }
        if queueIndex < q.results.count {
            queueIndex += 1
            return q.results[queueIndex - 1]
        }
        if phase == .stopped {
            return .stopped(reason: stopped.reason, offset: stopped.offset)
        }
        return .needMoreData
    }

    /// Call when the capture has no more bytes for this direction: reports a frame or
    /// header block cut short, or nil when the input ended on a frame boundary.
    /// (With the pull API, drain `nextFrame()` first.)
    public func finish() -> Result? {
        if phase == .stopped { return nil }
        if phase == .resync {
            return resyncBuffer.isEmpty ? nil
                : .truncated(reason: "input ended while looking for a frame header after a capture gap (\(resyncBuffer.count) bytes not decoded)",
                             offset: resyncBase)
        }
        let available = carry.count
        if phase == .preface, available > 0 {
            return .truncated(reason: "input ended inside the client preface (\(available) of 24 bytes)",
                              offset: carryOffset)
        }
        if skipRemaining > 0 {
            return .truncated(reason: "input ended inside a DATA frame (\(skipFrame.length - skipRemaining) of \(skipFrame.length) payload bytes)",
                              offset: skipFrame.offset)
        }
        if available > 0 {
            if available < 9 {
                return .truncated(reason: "input ended inside a frame header (\(available) of 9 bytes)",
                                  offset: carryOffset)
            }
            let header = carry.withUnsafeBytes { HTTP2FrameHeader($0, 0) }
            return .truncated(reason: "input ended inside a \(header.type.name) frame (\(available - 9) of \(header.length) payload bytes)",
                              offset: carryOffset)
        }
        if let pending = pendingBlock {
            return .truncated(reason: "input ended inside the header block of \(pending.frame.type.name) on stream \(pending.streamID) (no END_HEADERS)",
                              offset: pending.offset)
        }
        return nil
    }

    // MARK: - Gaps in the input

    /// What a gap did to the decoding.
    public struct GapEffect: Hashable, Sendable {
        /// The frame boundaries are still known (the gap ended inside the frame it began in).
        public var framingKept: Bool
        /// A header block was or may have been lost: the HPACK context was reset, so a block
        /// that refers to the dynamic table fails to decode until the peer refills it.
        public var headerStateLost: Bool

        public init(framingKept: Bool, headerStateLost: Bool) {
            self.framingKept = framingKept
            self.headerStateLost = headerStateLost
        }
    }

    /// `count` bytes of this direction are missing here: lost before the capture point,
    /// missed by the capture, or cut by its snapshot length. A gap that ends inside the frame
    /// it began in only damages that frame (a DATA payload: nothing at all). Otherwise the
    /// next frame header is somewhere in the gap: decoding resumes at the first header after
    /// it that validates (`.resynchronized`), and the HPACK context is reset.
    @discardableResult
    public func skipMissing(_ count: Int, to sink: HTTP2FrameSink) -> GapEffect {
        guard count > 0, phase != .stopped else { return GapEffect(framingKept: true, headerStateLost: false) }
        let gapStart = fedOffset
        fedOffset += count
        let gapEnd = fedOffset
        switch phase {
        case .stopped:
            return GapEffect(framingKept: true, headerStateLost: false)
        case .resync:
            // Still looking: what was kept before this gap no longer leads anywhere.
            resyncSkippedBytes += resyncBuffer.count
            resyncBuffer.removeAll(keepingCapacity: true)
            resyncBase = gapEnd
            resyncScan = 0
            return GapEffect(framingKept: false, headerStateLost: true)
        case .frames, .firstFrame:
            if skipRemaining >= count {
                skipRemaining -= count
                return GapEffect(framingKept: true, headerStateLost: false)
            }
            if skipRemaining == 0 && carry.count >= 9 {
                let header = carry.withUnsafeBytes { HTTP2FrameHeader($0, 0) }
                let frameEnd = carryOffset + 9 + header.length
                if gapEnd <= frameEnd {
                    // Only this frame is damaged: skip the rest of it.
                    let offset = carryOffset
                    carry.removeAll(keepingCapacity: true)
                    skipFrame = (offset, header.length)
                    skipRemaining = frameEnd - gapEnd
                    invalid(offset, nil, "\(header.type.name) frame on stream \(header.streamID) lost \(count) of its \(header.length) payload bytes in a capture gap; skipped", sink)
                    let block = [HTTP2FrameType.headers, .pushPromise, .continuation].contains(header.type)
                    if block {
                        if let pending = pendingBlock {
                            pendingBlock = nil
                            loseBlock(pending, sink)
                        }
                        hpack.reset()
                    }
                    return GapEffect(framingKept: true, headerStateLost: block)
                }
            }
        case .preface:
            break
        }
        // The next frame header lies in the gap: look for one after it.
        _ = gapStart
        carry.removeAll(keepingCapacity: true)
        skipRemaining = 0
        if let pending = pendingBlock {
            pendingBlock = nil
            loseBlock(pending, sink)
        }
        hpack.reset()
        phase = .resync
        resyncBuffer.removeAll(keepingCapacity: true)
        resyncBase = gapEnd
        resyncScan = 0
        return GapEffect(framingKept: false, headerStateLost: true)
    }

    /// A header block whose rest was lost in a gap: its frames are reported, undecoded.
    private func loseBlock(_ pending: PendingBlock, _ sink: HTTP2FrameSink) {
        var frame = pending.frame
        frame.setHeaderBlock(fields: nil, reason: "header block lost in a capture gap")
        sink.decoded(.frame(frame, offset: pending.offset))
        for (continuation, offset) in pending.continuations {
            sink.decoded(.frame(continuation, offset: offset))
        }
    }

    /// Keeps the bytes after a gap until a frame header validates, then decodes from it.
    /// Returns the index of the first byte of `bytes` not taken (all of them).
    private func resynchronize(_ bytes: UnsafeRawBufferPointer, from start: Int, _ sink: HTTP2FrameSink) -> Int {
        guard start < bytes.count else { return bytes.count }
        resyncBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
        let limit = maxFrameSize < HTTP2Defaults.maxFrameSizeLimit ? maxFrameSize : 1 << 20
        let found: Int? = resyncBuffer.withUnsafeBytes { b in
            while resyncScan + 9 <= b.count {
                let at = resyncScan
                if Self.plausibleHeader(b, at, maxLength: limit) {
                    let next = at + 9 + (Int(b[at]) << 16 | Int(b[at + 1]) << 8 | Int(b[at + 2]))
                    // Confirmed by the header after it, or by ending where the bytes so far
                    // end (frames end on segment boundaries); else wait for more bytes.
                    if next == b.count { return at }
                    if next + 9 <= b.count {
                        if Self.plausibleHeader(b, next, maxLength: limit) || b[next + 3] == HTTP2FrameType.continuation.rawValue && b[at + 3] == HTTP2FrameType.headers.rawValue { return at }
                    } else {
                        return nil
                    }
                }
                resyncScan += 1
            }
            return nil
        }
        if let at = found {
            let rest = Array(resyncBuffer[at...])
            resyncSkippedBytes += at
            let offset = resyncBase + at
            resyncBuffer.removeAll(keepingCapacity: true)
            resyncScan = 0
            phase = .frames
            sink.decoded(.resynchronized(skipped: at, offset: offset))
            // Decode from the header found: the bytes are fed again from its offset.
            fedOffset = offset
            rest.withUnsafeBytes { feed($0, to: sink) }
        } else if resyncBuffer.count > Self.resyncLimit {
            let kept = resyncBuffer.count
            resyncBuffer.removeAll()
            resyncSkippedBytes += kept
            stop(resyncBase, "no frame header found in the \(kept) bytes after a capture gap; frame boundaries lost", sink)
        }
        return bytes.count
    }

    /// A frame header that could start a frame after a gap: a type defined by RFC 9113 (not
    /// CONTINUATION, which needs the block before it), a length within `maxLength` and the
    /// type's own, defined flags only, and the stream rules of the type.
    static func plausibleHeader(_ p: UnsafeRawBufferPointer, _ i: Int, maxLength: Int) -> Bool {
        guard i + 9 <= p.count, p[i + 5] & 0x80 == 0 else { return false }
        let length = Int(p[i]) << 16 | Int(p[i + 1]) << 8 | Int(p[i + 2])
        let type = p[i + 3], flags = p[i + 4]
        let onStream0 = p[i + 5] == 0 && p[i + 6] == 0 && p[i + 7] == 0 && p[i + 8] == 0
        guard length <= maxLength else { return false }
        switch type {
        case 0: return !onStream0 && flags & ~0x09 == 0
        case 1: return !onStream0 && flags & ~0x2D == 0
        case 2: return !onStream0 && length == 5 && flags == 0
        case 3: return !onStream0 && length == 4 && flags == 0
        case 4: return onStream0 && flags & ~0x01 == 0 && length % 6 == 0 && (flags == 0 || length == 0)
        case 5: return !onStream0 && flags & ~0x0C == 0 && length >= 4
        case 6: return onStream0 && length == 8 && flags & ~0x01 == 0
        case 7: return onStream0 && length >= 8 && flags == 0
        case 8: return length == 4 && flags == 0
        default: return false
        }
    }

    // MARK: - HPACK

    /// Decodes a header block handed to `HTTP2FrameSink.decodedHeaders` with this decoder's
    /// HPACK context: each field goes to `visit` as views valid only during the call, with
    /// no copy and no allocation. Returns nil when the block decoded, else why not (the
    /// context was reset, as for `HTTP2Frame.Headers.undecodableReason`).
    public func decodeHeaderBlock(_ block: UnsafeRawBufferPointer,
                                  visit: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) -> String? {
        hpack.decode(block, visit: visit)?.reason
    }

    /// True when `decodeHeaderBlock(block)` would hand out again the fields of the last
    /// block this decoder's HPACK context decoded: the same bytes, and a block that left the
    /// dynamic table alone (such a block decodes the same any number of times; nothing in
    /// the context changes).
    public func isRepeatedHeaderBlock(_ block: UnsafeRawBufferPointer) -> Bool { hpack.isReplay(block) }

    /// The SETTINGS_HEADER_TABLE_SIZE the receiver of these bytes advertised: the encoder may
    /// resize its dynamic table up to it (RFC 7541 §4.2). Only ever raised here: a SETTINGS
    /// takes effect at its ACK, so until then either value is legal, and the larger admits both.
    public func allowHeaderTableSize(_ size: Int) { hpack.allowTableSize(size) }

    /// Changes whenever the HPACK context decodes a block afresh or is reset; a repeated
    /// block (`isRepeatedHeaderBlock`) leaves it as it is. A caller that remembers what it
    /// made of a block with the generation after decoding it may reuse that for a repeated
    /// block while the generation has not changed.
    public var headerBlockGeneration: Int { hpack.generation }

    /// The fields of a header block, decoded with this decoder's HPACK context.
    func decodeFields(_ block: UnsafeRawBufferPointer) -> (fields: [HTTP2Header]?, reason: String?) {
        var fields: [HTTP2Header] = []
        if let failure = hpack.decode(block, visit: { name, value in
            fields.append(HTTP2Header(headerString(name), headerString(value)))
        }) {
            return (nil, failure.reason)
        }
        return (fields, nil)
    }

    // MARK: - Push API

    /// Decodes `bytes`, the next bytes of this direction, reporting to `sink` during the
    /// call. Whole frames are read where they lie; DATA payloads are skipped.
    public func feed(_ bytes: UnsafeRawBufferPointer, to sink: HTTP2FrameSink) {
        let base = fedOffset
        let n = bytes.count
        fedOffset += n
        var i = 0
        while i < n {
            if skipRemaining > 0 {
                let k = min(skipRemaining, n - i)
                skipRemaining -= k
                i += k
                continue
            }
            switch phase {
            case .stopped:
                return
            case .resync:
                i = resynchronize(bytes, from: i, sink)
                continue
            case .preface:
                i = matchPreface(bytes, from: i, base: base, sink)
                continue
            case .firstFrame, .frames:
                break
            }
            if !carry.isEmpty {
                i = continueCarried(bytes, from: i, base: base, sink)
                continue
            }
            // In place: a whole frame header here?
            guard n - i >= 9 else {
                startCarry(bytes, from: i, base: base)
                return
            }
            let header = HTTP2FrameHeader(bytes, i)
            guard begin(header, at: base + i, prefix: { quote(bytes, from: i) }, sink) else { return }
            if header.type == .data && !header.flags.contains(.padded) {
                sink.decodedData(header, dataLength: header.length, offset: base + i)
                checkData(header, at: base + i, sink)
                skipFrame = (base + i, header.length)
                skipRemaining = header.length
                i += 9
                continue
            }
            if header.length > maxHeaderBlockSize && header.type != .data {
                skipOversized(header, at: base + i, sink)
                i += 9
                continue
            }
            guard n - i >= 9 + header.length else {
                startCarry(bytes, from: i, base: base)
                return
            }
            decodeFrame(header, UnsafeRawBufferPointer(rebasing: bytes[(i + 9)..<(i + 9 + header.length)]),
                        at: base + i, sink)
            i += 9 + header.length
        }
    }

    private func startCarry(_ bytes: UnsafeRawBufferPointer, from i: Int, base: Int) {
        carryOffset = base + i
        carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i...]))
    }

    /// Adds to the carried unit only the bytes it still needs, and decodes it once whole.
    /// Returns the index of the first byte not taken.
    private func continueCarried(_ bytes: UnsafeRawBufferPointer, from start: Int, base: Int, _ sink: HTTP2FrameSink) -> Int {
        var i = start
        let n = bytes.count
        if carry.count < 9 {
            let take = min(9 - carry.count, n - i)
            carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
            i += take
            guard carry.count == 9 else { return i }
            let header = carry.withUnsafeBytes { HTTP2FrameHeader($0, 0) }
            let offset = carryOffset
            let carried = carry
            let rest = bytes
            let accepted = begin(header, at: offset, prefix: {
                carried.withUnsafeBytes { c in quote(c, from: 0, then: UnsafeRawBufferPointer(rebasing: rest[i...])) }
            }, sink)
            guard accepted else { carry.removeAll(keepingCapacity: true); return n }
            if header.type == .data && !header.flags.contains(.padded) {
                carry.removeAll(keepingCapacity: true)
                sink.decodedData(header, dataLength: header.length, offset: offset)
                checkData(header, at: offset, sink)
                skipFrame = (offset, header.length)
                skipRemaining = header.length
                return i
            }
            if header.length > maxHeaderBlockSize && header.type != .data {
                carry.removeAll(keepingCapacity: true)
                skipOversized(header, at: offset, sink)
                return i
            }
        }
        let header = carry.withUnsafeBytes { HTTP2FrameHeader($0, 0) }
        let take = min(9 + header.length - carry.count, n - i)
        carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
        i += take
        guard carry.count == 9 + header.length else { return i }
        let whole = carry
        carry.removeAll(keepingCapacity: true)
        whole.withUnsafeBytes { decodeFrame(header, UnsafeRawBufferPointer(rebasing: $0[9...]), at: carryOffset, sink) }
        return i
    }

    private func matchPreface(_ bytes: UnsafeRawBufferPointer, from start: Int, base: Int, _ sink: HTTP2FrameSink) -> Int {
        let preface = HTTP2Defaults.clientPreface
        var i = start
        if carry.isEmpty { carryOffset = base + i }
        while carry.count < preface.count && i < bytes.count {
            if bytes[i] != preface[carry.count] {
                let text = carry.withUnsafeBytes { quote($0, from: 0, then: UnsafeRawBufferPointer(rebasing: bytes[i...])) }
                stop(carryOffset, "client bytes do not start with the HTTP/2 connection preface; they begin " + text, sink)
                carry.removeAll()
                return bytes.count
            }
            carry.append(bytes[i])
            i += 1
        }
        if carry.count == preface.count {
            carry.removeAll(keepingCapacity: true)
            phase = .firstFrame
            sink.decoded(.preface(offset: carryOffset))
        }
        return i
    }

    /// Checks a frame header before its payload: false when decoding stopped here.
    private func begin(_ header: HTTP2FrameHeader, at offset: Int, prefix: () -> String, _ sink: HTTP2FrameSink) -> Bool {
        let type = header.type, length = header.length
        if length > frameSizeLimit {
            stop(offset, "\(type.name) frame length \(length) exceeds the limit of \(frameSizeLimit) bytes; frame boundaries lost", sink)
            return false
        }
        if phase == .firstFrame {
            if type != .settings {
                if type.rawValue <= HTTP2FrameType.continuation.rawValue && length <= maxFrameSize {
                    invalid(offset, .protocolError, "first frame from the \(side.rawValue) is \(type.name), not SETTINGS", sink)
                } else {
                    stop(offset, "first frame from the \(side.rawValue) is not SETTINGS (type \(type.name), length \(length)); not HTTP/2? bytes begin "
                         + prefix(), sink)
                    return false
                }
            }
            phase = .frames
        }
        if type.rawValue > HTTP2FrameType.continuation.rawValue && type.name.hasPrefix("0x") && length > Self.unknownFrameLengthLimit {
            stop(offset, "the \(side.rawValue)'s bytes stop looking like HTTP/2 frames (type \(type.name), length \(length)); frame boundaries lost", sink)
            return false
        }
        frameTypeCounts[min(Int(type.rawValue), 10)] += 1
        return true
    }

    /// What a DATA frame breaks besides its padding: the stream, the frame size, and a
    /// header block it interrupts.
    private func checkData(_ header: HTTP2FrameHeader, at offset: Int, _ sink: HTTP2FrameSink) {
        if header.streamID == 0 { invalid(offset, .protocolError, "DATA frame on stream 0", sink) }
        if header.length > maxFrameSize { frameTooLong(offset, header.type, header.length, header.streamID, sink) }
    }

    private func skipOversized(_ header: HTTP2FrameHeader, at offset: Int, _ sink: HTTP2FrameSink) {
        if let pending = pendingBlock {
            pendingBlock = nil
            abandonBlock(pending, interruptedBy: header.type, streamID: header.streamID, at: offset, sink)
        }
        if [.headers, .pushPromise, .continuation].contains(header.type) { hpack.reset() }
        invalid(offset, nil, "\(header.type.name) frame of \(header.length) bytes on stream \(header.streamID) is larger than \(maxHeaderBlockSize) bytes; skipped", sink)
        skipFrame = (offset, header.length)
        skipRemaining = header.length
    }

    // MARK: - Decoding

    private func invalid(_ offset: Int, _ code: HTTP2ErrorCode?, _ text: String, _ sink: HTTP2FrameSink) {
        let reason = code.map { "\($0.name): \(text)" } ?? text
        sink.decoded(.invalid(reason: reason, offset: offset))
    }

    private func stop(_ offset: Int, _ reason: String, _ sink: HTTP2FrameSink) {
        phase = .stopped
        stopped = (reason, offset)
        skipRemaining = 0
        sink.decoded(.stopped(reason: reason, offset: offset))
    }

    private func frameTooLong(_ offset: Int, _ type: HTTP2FrameType, _ length: Int, _ streamID: Int32, _ sink: HTTP2FrameSink) {
        let receiver = side == .client ? "server" : "client"
        invalid(offset, .frameSizeError, "\(type.name) frame length \(length) on stream \(streamID) exceeds the \(receiver)'s SETTINGS_MAX_FRAME_SIZE \(maxFrameSize)", sink)
    }

    /// One whole frame (all but unpadded DATA, which `feed` reports from its header).
    private func decodeFrame(_ header: HTTP2FrameHeader, _ p: UnsafeRawBufferPointer, at offset: Int, _ sink: HTTP2FrameSink) {
        let type = header.type, length = header.length, streamID = header.streamID, flags = header.flags
        // A header block must be continued by CONTINUATION frames on the same stream only.
        if var pending = pendingBlock {
            if type == .continuation && streamID == pending.streamID {
                let frame = HTTP2Frame(streamID: streamID, flags: flags, length: length,
                                       payload: .continuation(endHeaders: flags.contains(.endHeaders)))
                pending.continuations.append((frame, offset))
                if pending.fragments.count + p.count > maxHeaderBlockSize {
                    pending.oversized = true
                    pending.fragments = []
                } else if !pending.oversized {
                    pending.fragments.append(contentsOf: p)
                }
                if length > maxFrameSize { frameTooLong(offset, type, length, streamID, sink) }
                if flags.contains(.endHeaders) {
                    pendingBlock = nil
                    completeBlock(pending, sink)
                } else {
                    pendingBlock = pending
                }
                return
            }
            pendingBlock = nil
            abandonBlock(pending, interruptedBy: type, streamID: streamID, at: offset, sink)
        }
        let tooLong = length > maxFrameSize
        decodePayload(type: type, flags: flags, streamID: streamID, payload: p, offset: offset, sink)
        if tooLong && type != .data { frameTooLong(offset, type, length, streamID, sink) }
    }

    private func decodePayload(type: HTTP2FrameType, flags: HTTP2FrameFlags, streamID: Int32,
                               payload p: UnsafeRawBufferPointer, offset: Int, _ sink: HTTP2FrameSink) {
        let length = p.count
        func frame(_ payload: HTTP2Frame.Payload) -> HTTP2Frame {
            HTTP2Frame(streamID: streamID, flags: flags, length: length, payload: payload)
        }
        func requireStream(_ expectZero: Bool) {
            if expectZero && streamID != 0 {
                invalid(offset, .protocolError, "\(type.name) frame on stream \(streamID), must be stream 0", sink)
            } else if !expectZero && streamID == 0 {
                invalid(offset, .protocolError, "\(type.name) frame on stream 0", sink)
            }
        }
        /// Strips padding; nil (after reporting) when the pad length is impossible.
        func unpadded(_ start: Int) -> Range<Int>? {
            guard flags.contains(.padded) else { return start..<length }
            guard length >= 1 else {
                invalid(offset, .frameSizeError, "\(type.name) frame is PADDED but has no pad length octet", sink)
                return nil
            }
            let padLength = Int(p[0])
            guard start + padLength <= length else {
                invalid(offset, .protocolError, "\(type.name) pad length \(padLength) exceeds the payload (\(length) bytes)", sink)
                return nil
            }
            return start..<(length - padLength)
        }

        switch type {
        case .data:
            guard let body = unpadded(flags.contains(.padded) ? 1 : 0) else { return }
            let header = HTTP2FrameHeader(length: length, type: type, flags: flags, streamID: streamID)
            sink.decodedData(header, dataLength: body.count, offset: offset)
            checkData(header, at: offset, sink)

        case .headers:
            var start = flags.contains(.padded) ? 1 : 0
            var priority: HTTP2PrioritySpec?
            if flags.contains(.priority) {
                guard length >= start + 5 else {
                    invalid(offset, .frameSizeError, "HEADERS with PRIORITY flag is too short (\(length) bytes)", sink)
                    return
                }
                priority = p.readPriority(start)
                start += 5
            }
            guard let block = unpadded(start) else {
                // The block is lost, so the HPACK context can no longer be trusted.
                hpack.reset()
                return
            }
            if streamID == 0 {
                invalid(offset, .protocolError, "HEADERS frame on stream 0", sink)
            }
            let header = HTTP2FrameHeader(length: length, type: type, flags: flags, streamID: streamID)
            if flags.contains(.endHeaders) && block.count <= maxHeaderBlockSize {
                // The common case: the whole block in this frame, decoded where it lies.
                sink.decodedHeaders(header, priority: priority, block: UnsafeRawBufferPointer(rebasing: p[block]),
                                    offset: offset, decoder: self)
                return
            }
            startBlock(HTTP2Frame(header, priority: priority), UnsafeRawBufferPointer(rebasing: p[block]), at: offset,
                       complete: flags.contains(.endHeaders), sink)

        case .priority:
            guard length == 5 else {
                invalid(offset, .frameSizeError, "PRIORITY frame length \(length), expected 5", sink)
                return
            }
            let spec = p.readPriority(0)
            sink.decoded(.frame(frame(.priority(spec)), offset: offset))
            requireStream(false)
            if spec.dependency == streamID && streamID != 0 {
                invalid(offset, .protocolError, "stream \(streamID) depends on itself", sink)
            }

        case .rstStream:
            guard length == 4 else {
                invalid(offset, .frameSizeError, "RST_STREAM frame length \(length), expected 4", sink)
                return
            }
            sink.decoded(.frame(frame(.rstStream(HTTP2ErrorCode(p.readUInt32(0)))), offset: offset))
            requireStream(false)

        case .settings:
            let ack = flags.contains(.ack)
            if ack && length != 0 {
                invalid(offset, .frameSizeError, "SETTINGS ACK with a \(length)-byte payload", sink)
                return
            }
            guard length % 6 == 0 else {
                invalid(offset, .frameSizeError, "SETTINGS frame length \(length) is not a multiple of 6", sink)
                return
            }
            var settings: [HTTP2Setting] = []
            settings.reserveCapacity(length / 6)
            var i = 0
            while i + 6 <= length {
                let id = HTTP2SettingIdentifier(UInt16(p[i]) << 8 | UInt16(p[i + 1]))
                settings.append(HTTP2Setting(id, p.readUInt32(i + 2)))
                i += 6
            }
            sink.decoded(.frame(frame(.settings(ack: ack, settings)), offset: offset))
            requireStream(true)
            for setting in settings {
                switch setting.identifier {
                case .enablePush where setting.value > 1:
                    invalid(offset, .protocolError, "SETTINGS_ENABLE_PUSH = \(setting.value)", sink)
                case .enablePush where setting.value != 0 && side == .server:
                    invalid(offset, .protocolError, "server sent SETTINGS_ENABLE_PUSH = \(setting.value)", sink)
                case .initialWindowSize where setting.value > UInt32(Int32.max):
                    invalid(offset, .flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE = \(setting.value)", sink)
                case .maxFrameSize where setting.value < 16_384 || setting.value > UInt32(HTTP2Defaults.maxFrameSizeLimit):
                    invalid(offset, .protocolError, "SETTINGS_MAX_FRAME_SIZE = \(setting.value)", sink)
                default:
                    break
                }
            }

        case .pushPromise:
            let start = flags.contains(.padded) ? 1 : 0
            guard length >= start + 4 else {
                invalid(offset, .frameSizeError, "PUSH_PROMISE frame length \(length) is too short", sink)
                hpack.reset()
                return
            }
            let promised = Int32(bitPattern: p.readUInt32(start) & 0x7fff_ffff)
            guard let block = unpadded(start + 4) else {
                hpack.reset()
                return
            }
            let promise = HTTP2Frame.PushPromise(promisedStreamID: promised, fields: nil,
                                                 endHeaders: flags.contains(.endHeaders),
                                                 padded: flags.contains(.padded))
            if side == .client {
                invalid(offset, .protocolError, "PUSH_PROMISE sent by a client", sink)
            }
            if streamID == 0 {
                invalid(offset, .protocolError, "PUSH_PROMISE frame on stream 0", sink)
            }
            startBlock(frame(.pushPromise(promise)), UnsafeRawBufferPointer(rebasing: p[block]), at: offset,
                       complete: flags.contains(.endHeaders), sink)

        case .ping:
            guard length == 8 else {
                invalid(offset, .frameSizeError, "PING frame length \(length), expected 8", sink)
                return
            }
            let opaque = UInt64(p.readUInt32(0)) << 32 | UInt64(p.readUInt32(4))
            sink.decoded(.frame(frame(.ping(ack: flags.contains(.ack), opaque: opaque)), offset: offset))
            requireStream(true)

        case .goAway:
            guard length >= 8 else {
                invalid(offset, .frameSizeError, "GOAWAY frame length \(length), expected at least 8", sink)
                return
            }
            let last = Int32(bitPattern: p.readUInt32(0) & 0x7fff_ffff)
            let code = HTTP2ErrorCode(p.readUInt32(4))
            sink.decoded(.frame(frame(.goAway(lastStreamID: last, errorCode: code, debugData: Array(p[8...]))),
                        offset: offset))
            requireStream(true)

        case .windowUpdate:
            guard length == 4 else {
                invalid(offset, .frameSizeError, "WINDOW_UPDATE frame length \(length), expected 4", sink)
                return
            }
            let increment = p.readUInt32(0) & 0x7fff_ffff
            sink.decoded(.frame(frame(.windowUpdate(increment: increment)), offset: offset))
            if increment == 0 {
                invalid(offset, .protocolError, "WINDOW_UPDATE with increment 0", sink)
            }

        case .continuation:
            sink.decoded(.frame(frame(.continuation(endHeaders: flags.contains(.endHeaders))), offset: offset))
            invalid(offset, .protocolError, "CONTINUATION on stream \(streamID) without a preceding HEADERS or PUSH_PROMISE", sink)
            // Whatever block this belonged to was not seen whole.
            hpack.reset()

        default:
            sink.decoded(.frame(frame(.unknown(type: type, flags: flags.rawValue, length: length)), offset: offset))
        }
    }

    /// A header block starts: decoded at once when this frame ends it, else collected.
    private func startBlock(_ frame: HTTP2Frame, _ block: UnsafeRawBufferPointer, at offset: Int,
                            complete: Bool, _ sink: HTTP2FrameSink) {
        if complete && block.count <= maxHeaderBlockSize {
            deliverBlock(frame, block, at: offset, sink)
            return
        }
        var pending = PendingBlock(offset: offset, streamID: frame.streamID, frame: frame, fragments: [])
        if block.count > maxHeaderBlockSize {
            pending.oversized = true
        } else {
            pending.fragments.append(contentsOf: block)
        }
        if complete {
            completeBlock(pending, sink)
        } else {
            pendingBlock = pending
        }
    }

    /// A whole header block: HEADERS go to the sink to decode in place; PUSH_PROMISE (rare)
    /// is decoded here.
    private func deliverBlock(_ frame: HTTP2Frame, _ block: UnsafeRawBufferPointer, at offset: Int, _ sink: HTTP2FrameSink) {
        if case .headers(let h) = frame.payload {
            let header = HTTP2FrameHeader(length: frame.length, type: .headers, flags: frame.flags, streamID: frame.streamID)
            sink.decodedHeaders(header, priority: h.priority, block: block, offset: offset, decoder: self)
            return
        }
        var frame = frame
        let (fields, reason) = decodeFields(block)
        frame.setHeaderBlock(fields: fields, reason: reason)
        sink.decoded(.frame(frame, offset: offset))
    }

    private func completeBlock(_ pending: PendingBlock, _ sink: HTTP2FrameSink) {
        if pending.oversized {
            hpack.reset()
            var frame = pending.frame
            frame.setHeaderBlock(fields: nil, reason: "header block larger than \(maxHeaderBlockSize) bytes")
            sink.decoded(.frame(frame, offset: pending.offset))
        } else {
            pending.fragments.withUnsafeBytes { deliverBlock(pending.frame, $0, at: pending.offset, sink) }
        }
        for (continuation, offset) in pending.continuations {
            sink.decoded(.frame(continuation, offset: offset))
        }
    }

    private func abandonBlock(_ pending: PendingBlock, interruptedBy type: HTTP2FrameType,
                              streamID: Int32, at offset: Int, _ sink: HTTP2FrameSink) {
        hpack.reset()
        var frame = pending.frame
        frame.setHeaderBlock(fields: nil, reason: "header block interrupted by \(type.name) on stream \(streamID)")
        sink.decoded(.frame(frame, offset: pending.offset))
        for (continuation, continuationOffset) in pending.continuations {
            sink.decoded(.frame(continuation, offset: continuationOffset))
        }
        invalid(offset, .protocolError, "\(type.name) on stream \(streamID) inside the header block of stream \(pending.streamID) (expected CONTINUATION)", sink)
    }

    /// Up to 32 bytes of `bytes` from `index` (then of `more`), quoted with non-printables
    /// escaped, for error reasons.
    private func quote(_ bytes: UnsafeRawBufferPointer, from index: Int, then more: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> String {
        var text = "\""
        var count = 0
        for byte in Array(bytes[index...].prefix(32)) + Array(more.prefix(32)) {
            guard count < 32 else { break }
            count += 1
            switch byte {
            case 0x0d: text += "\\r"
            case 0x0a: text += "\\n"
            case 0x22: text += "\\\""
            case 0x5c: text += "\\\\"
            case 0x20...0x7e: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + "\""
    }
}

/// The pull API's sink: results queued for `nextFrame()`, header blocks decoded to fields.
private final class ResultQueue: HTTP2FrameSink {
    var results: [HTTP2FrameDecoder.Result] = []

    func decoded(_ result: HTTP2FrameDecoder.Result) {
        // `nextFrame()` reports the stop from the decoder's state, every time it is asked.
        if case .stopped = result { return }
        results.append(result)
    }

    func decodedData(_ header: HTTP2FrameHeader, dataLength: Int, offset: Int) {
        results.append(.frame(HTTP2Frame(header, dataLength: dataLength), offset: offset))
    }

    func decodedHeaders(_ header: HTTP2FrameHeader, priority: HTTP2PrioritySpec?, block: UnsafeRawBufferPointer,
                        offset: Int, decoder: HTTP2FrameDecoder) {
        var frame = HTTP2Frame(header, priority: priority)
        let (fields, reason) = decoder.decodeFields(block)
        frame.setHeaderBlock(fields: fields, reason: reason)
        results.append(.frame(frame, offset: offset))
    }
}

extension HTTP2Frame {
    /// A DATA frame from its header; `dataLength` excludes the padding.
    public init(_ header: HTTP2FrameHeader, dataLength: Int) {
        self.init(streamID: header.streamID, flags: header.flags, length: header.length,
                  payload: .data(length: dataLength, endStream: header.flags.contains(.endStream),
                                 padded: header.flags.contains(.padded)))
    }

    /// A HEADERS frame from its header, its block not decoded yet.
    public init(_ header: HTTP2FrameHeader, priority: HTTP2PrioritySpec?) {
        let flags = header.flags
        self.init(streamID: header.streamID, flags: flags, length: header.length,
                  payload: .headers(Headers(fields: nil, endStream: flags.contains(.endStream),
                                            endHeaders: flags.contains(.endHeaders),
                                            padded: flags.contains(.padded), priority: priority)))
    }

    /// Fill in the decoded header block of a HEADERS or PUSH_PROMISE frame.
    public mutating func setHeaderBlock(fields: [HTTP2Header]?, reason: String?) {
        switch payload {
        case .headers(var headers):
            headers.fields = fields
            headers.undecodableReason = reason
            payload = .headers(headers)
        case .pushPromise(var promise):
            promise.fields = fields
            promise.undecodableReason = reason
            payload = .pushPromise(promise)
        default:
            break
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Big-endian 32-bit read; 0 past the end.
    @inline(__always)
    func readUInt32(_ index: Int) -> UInt32 {
        guard index >= 0, index + 4 <= count else { return 0 }
        return UInt32(self[index]) << 24 | UInt32(self[index + 1]) << 16
            | UInt32(self[index + 2]) << 8 | UInt32(self[index + 3])
    }

    @inline(__always)
    func readPriority(_ index: Int) -> HTTP2PrioritySpec {
        let word = readUInt32(index)
        let weight = index + 4 < count ? Int(self[index + 4]) + 1 : 16
        return HTTP2PrioritySpec(dependency: Int32(bitPattern: word & 0x7fff_ffff), weight: weight,
                                 exclusive: word & 0x8000_0000 != 0)
    }
}
