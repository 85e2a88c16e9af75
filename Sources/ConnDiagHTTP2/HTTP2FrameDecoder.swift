/// Incremental HTTP/2 frame decoder for the captured bytes of one direction of one
/// connection (offline pcap analysis).
///
/// Feed reassembled TCP payload with `append(bytes:)`, then call `nextFrame()` until it
/// returns `.needMoreData` (or `.stopped`). Every result carries the absolute byte offset
/// (from the first appended byte) where the frame or problem starts, so the caller can map
/// it back onto the capture timestamp of the segment that carried it.
///
/// Broken input never traps: problems become `.invalid` results and decoding continues
/// with the next frame when the frame boundaries are still known, or `.stopped` when they
/// are not (after which every call returns the same `.stopped`).
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
    }

    public let side: Side
    /// The receiver's SETTINGS_MAX_FRAME_SIZE. Longer frames are reported as
    /// FRAME_SIZE_ERROR but still decoded. Raise it when the other direction's SETTINGS
    /// allow more.
    public var maxFrameSize: Int
    /// Frames longer than this stop the decoder: the length field is not believed.
    public let frameSizeLimit: Int
    /// A header block (HEADERS + CONTINUATION fragments) larger than this is not decoded.
    public let maxHeaderBlockSize: Int

    private enum State {
        case preface
        case firstFrame
        case frames
        case stopped(reason: String, offset: Int)
    }

    private struct PendingBlock {
        var offset: Int
        var streamID: Int32
        var frame: HTTP2Frame
        var fragments: [UInt8]
        var continuations: [(HTTP2Frame, Int)] = []
        var oversized = false
    }

    private var state: State
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Absolute offset of buffer[0].
    private var baseOffset = 0
    private var output: [Result] = []
    private var outputIndex = 0
    private var pendingBlock: PendingBlock?
    private let hpack: HPACKInflater

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
            state = side == .client ? .preface : .firstFrame
        } else {
            state = .frames
        }
    }

    /// Offset of the first byte not yet consumed by a complete frame.
    public var consumedOffset: Int { baseOffset + readIndex }

    /// Bytes received but not yet consumed.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public func append<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        if case .stopped = state { return }
        if readIndex > 0 && (readIndex >= 64 * 1024 || readIndex == buffer.count) {
            buffer.removeFirst(readIndex)
            baseOffset += readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next decoded item, `.needMoreData` when the buffered bytes end inside a frame.
    public func nextFrame() -> Result {
        while true {
            if outputIndex < output.count {
                let result = output[outputIndex]
                outputIndex += 1
                if outputIndex == output.count {
                    output.removeAll(keepingCapacity: true)
                    outputIndex = 0
                }
                return result
            }
            if case let .stopped(reason, offset) = state {
                return .stopped(reason: reason, offset: offset)
            }
            if !decodeOne() && outputIndex >= output.count {
                return .needMoreData
            }
        }
    }

    /// Call when the capture has no more bytes for this direction: reports a frame or
    /// header block cut short, or nil when the input ended on a frame boundary.
    public func finish() -> Result? {
        if case .stopped = state { return nil }
        let available = bufferedByteCount
        if case .preface = state, available > 0 {
            return .truncated(reason: "input ended inside the client preface (\(available) of 24 bytes)",
                              offset: consumedOffset)
        }
        if available > 0 {
            if available < 9 {
                return .truncated(reason: "input ended inside a frame header (\(available) of 9 bytes)",
                                  offset: consumedOffset)
            }
            let length = Int(buffer[readIndex]) << 16 | Int(buffer[readIndex + 1]) << 8 | Int(buffer[readIndex + 2])
            let type = HTTP2FrameType(buffer[readIndex + 3])
            return .truncated(reason: "input ended inside a \(type.name) frame (\(available - 9) of \(length) payload bytes)",
                              offset: consumedOffset)
        }
        if let pending = pendingBlock {
            return .truncated(reason: "input ended inside the header block of \(pending.frame.type.name) on stream \(pending.streamID) (no END_HEADERS)",
                              offset: pending.offset)
        }
        return nil
    }

    /// Fast path for a caller that finds frame boundaries itself (offline analysis): takes
    /// one whole HEADERS frame with END_HEADERS and returns its header block as a view into
    /// `payload` (padding and priority fields stripped), for `decodeHeaderBlock`. No copy.
    ///
    /// Applies only when the result is the same as `append(bytes:)` + `nextFrame()` would
    /// give with nothing else reported: no buffered bytes, no header block pending, a
    /// non-zero stream, the length within `maxFrameSize` and sane padding. Otherwise returns
    /// nil without touching any state, and the frame goes through `append(bytes:)`.
    public func headerBlockInPlace(flags rawFlags: UInt8, streamID: Int32, payload p: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard case .frames = state, pendingBlock == nil, readIndex == buffer.count, outputIndex >= output.count else { return nil }
        let flags = HTTP2FrameFlags(rawValue: rawFlags)
        let length = p.count
        guard flags.contains(.endHeaders), streamID != 0, length <= maxFrameSize, length <= maxHeaderBlockSize else { return nil }
        var start = 0
        var end = length
        if flags.contains(.padded) {
            guard length >= 1 else { return nil }
            start = 1
            end = length - Int(p[0])
        }
        if flags.contains(.priority) { start += 5 }
        guard start <= end else { return nil }
        // Keep absolute offsets right for a later slow-path frame.
        if readIndex > 0 {
            buffer.removeAll(keepingCapacity: true)
            baseOffset += readIndex
            readIndex = 0
        }
        baseOffset += 9 + length
        return UnsafeRawBufferPointer(rebasing: p[start..<end])
    }

    /// Decodes a header block from `headerBlockInPlace` with this decoder's HPACK context:
    /// each field goes to `visit` as views valid only during the call, with no copy and no
    /// allocation. Returns nil when the block decoded, else why not (the context was reset,
    /// as for `HTTP2Frame.Headers.undecodableReason`).
    public func decodeHeaderBlock(_ block: UnsafeRawBufferPointer,
                                  visit: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) -> String? {
        hpack.decode(block, visit: visit)?.reason
    }

    /// True when `decodeHeaderBlock(block)` would hand out again the fields of the last
    /// block this decoder's HPACK context decoded: the same bytes, and a block that left the
    /// dynamic table alone (such a block decodes the same any number of times; nothing in
    /// the context changes).
    public func isRepeatedHeaderBlock(_ block: UnsafeRawBufferPointer) -> Bool { hpack.isReplay(block) }

    /// Changes whenever the HPACK context decodes a block afresh or is reset; a repeated
    /// block (`isRepeatedHeaderBlock`) leaves it as it is. A caller that remembers what it
    /// made of a block with the generation after decoding it may reuse that for a repeated
    /// block while the generation has not changed.
    public var headerBlockGeneration: Int { hpack.generation }

    // MARK: - Decoding

    private func emit(_ result: Result) { output.append(result) }

    private func invalid(_ offset: Int, _ code: HTTP2ErrorCode?, _ text: String) {
        let reason = code.map { "\($0.name): \(text)" } ?? text
        emit(.invalid(reason: reason, offset: offset))
    }

    private func stop(_ offset: Int, _ reason: String) {
        state = .stopped(reason: reason, offset: offset)
        readIndex = buffer.count
    }

    /// Decode one unit from the buffer into `output`. False when more bytes are needed.
    private func decodeOne() -> Bool {
        let available = buffer.count - readIndex
        let offset = consumedOffset

        if case .preface = state {
            let preface = HTTP2Defaults.clientPreface
            let compared = min(available, preface.count)
            for i in 0..<compared where buffer[readIndex + i] != preface[i] {
                stop(offset, "client bytes do not start with the HTTP/2 connection preface; they begin "
                     + printablePrefix(at: readIndex))
                return true
            }
            guard available >= preface.count else { return false }
            readIndex += preface.count
            state = .firstFrame
            emit(.preface(offset: offset))
            return true
        }

        guard available >= 9 else { return false }
        let h = readIndex
        let length = Int(buffer[h]) << 16 | Int(buffer[h + 1]) << 8 | Int(buffer[h + 2])
        let type = HTTP2FrameType(buffer[h + 3])
        let flags = HTTP2FrameFlags(rawValue: buffer[h + 4])
        let streamID = Int32(bitPattern: readUInt32(buffer, h + 5) & 0x7fff_ffff)

        if length > frameSizeLimit {
            stop(offset, "\(type.name) frame length \(length) exceeds the limit of \(frameSizeLimit) bytes; frame boundaries lost")
            return true
        }
        if case .firstFrame = state {
            if type != .settings {
                if type.rawValue <= HTTP2FrameType.continuation.rawValue && length <= maxFrameSize {
                    invalid(offset, .protocolError, "first frame from the \(side.rawValue) is \(type.name), not SETTINGS")
                } else {
                    stop(offset, "first frame from the \(side.rawValue) is not SETTINGS (type \(type.name), length \(length)); not HTTP/2? bytes begin "
                         + printablePrefix(at: readIndex))
                    return true
                }
            }
            state = .frames
        }
        guard available >= 9 + length else { return false }
        readIndex += 9 + length
        let payload = Array(buffer[(h + 9)..<(h + 9 + length)])

        // A header block must be continued by CONTINUATION frames on the same stream only.
        if var pending = pendingBlock {
            if type == .continuation && streamID == pending.streamID {
                let frame = HTTP2Frame(streamID: streamID, flags: flags, length: length,
                                       payload: .continuation(endHeaders: flags.contains(.endHeaders)))
                pending.continuations.append((frame, offset))
                if pending.fragments.count + payload.count > maxHeaderBlockSize {
                    pending.oversized = true
                    pending.fragments = []
                } else if !pending.oversized {
                    pending.fragments += payload
                }
                if length > maxFrameSize { pendingFrameTooLong(offset, type, length) }
                if flags.contains(.endHeaders) {
                    pendingBlock = nil
                    completeBlock(pending)
                } else {
                    pendingBlock = pending
                }
                return true
            }
            pendingBlock = nil
            abandonBlock(pending, interruptedBy: type, streamID: streamID, at: offset)
        }

        let tooLong = length > maxFrameSize
        decodePayload(type: type, flags: flags, streamID: streamID, payload: payload, offset: offset)
        if tooLong { pendingFrameTooLong(offset, type, length) }
        return true
    }

    private func pendingFrameTooLong(_ offset: Int, _ type: HTTP2FrameType, _ length: Int) {
        invalid(offset, .frameSizeError, "\(type.name) frame length \(length) exceeds SETTINGS_MAX_FRAME_SIZE \(maxFrameSize)")
    }

    private func decodePayload(type: HTTP2FrameType, flags: HTTP2FrameFlags, streamID: Int32,
                               payload p: [UInt8], offset: Int) {
        let length = p.count
        func frame(_ payload: HTTP2Frame.Payload) -> HTTP2Frame {
            HTTP2Frame(streamID: streamID, flags: flags, length: length, payload: payload)
        }
        func requireStream(_ expectZero: Bool) {
            if expectZero && streamID != 0 {
                invalid(offset, .protocolError, "\(type.name) frame on stream \(streamID), must be stream 0")
            } else if !expectZero && streamID == 0 {
                invalid(offset, .protocolError, "\(type.name) frame on stream 0")
            }
        }
        /// Strips padding; nil (after reporting) when the pad length is impossible.
        func unpadded(_ start: Int) -> Range<Int>? {
            guard flags.contains(.padded) else { return start..<length }
            guard length >= 1 else {
                invalid(offset, .frameSizeError, "\(type.name) frame is PADDED but has no pad length octet")
                return nil
            }
            let padLength = Int(p[0])
            guard start + padLength <= length else {
                invalid(offset, .protocolError, "\(type.name) pad length \(padLength) exceeds the payload (\(length) bytes)")
                return nil
            }
            return start..<(length - padLength)
        }

        switch type {
        case .data:
            guard let body = unpadded(flags.contains(.padded) ? 1 : 0) else { return }
            emit(.frame(frame(.data(length: body.count, endStream: flags.contains(.endStream),
                                    padded: flags.contains(.padded))), offset: offset))
            requireStream(false)

        case .headers:
            var start = flags.contains(.padded) ? 1 : 0
            var priority: HTTP2PrioritySpec?
            if flags.contains(.priority) {
                guard length >= start + 5 else {
                    invalid(offset, .frameSizeError, "HEADERS with PRIORITY flag is too short (\(length) bytes)")
                    return
                }
                priority = readPriority(p, start)
                start += 5
            }
            guard let block = unpadded(start) else {
                // The block is lost, so the HPACK context can no longer be trusted.
                hpack.reset()
                return
            }
            let headers = HTTP2Frame.Headers(fields: nil, endStream: flags.contains(.endStream),
                                             endHeaders: flags.contains(.endHeaders),
                                             padded: flags.contains(.padded), priority: priority)
            let pending = PendingBlock(offset: offset, streamID: streamID,
                                       frame: frame(.headers(headers)), fragments: Array(p[block]))
            if streamID == 0 {
                invalid(offset, .protocolError, "HEADERS frame on stream 0")
            }
            startBlock(pending, complete: flags.contains(.endHeaders))

        case .priority:
            guard length == 5 else {
                invalid(offset, .frameSizeError, "PRIORITY frame length \(length), expected 5")
                return
            }
            let spec = readPriority(p, 0)
            emit(.frame(frame(.priority(spec)), offset: offset))
            requireStream(false)
            if spec.dependency == streamID && streamID != 0 {
                invalid(offset, .protocolError, "stream \(streamID) depends on itself")
            }

        case .rstStream:
            guard length == 4 else {
                invalid(offset, .frameSizeError, "RST_STREAM frame length \(length), expected 4")
                return
            }
            emit(.frame(frame(.rstStream(HTTP2ErrorCode(readUInt32(p, 0)))), offset: offset))
            requireStream(false)

        case .settings:
            let ack = flags.contains(.ack)
            if ack && length != 0 {
                invalid(offset, .frameSizeError, "SETTINGS ACK with a \(length)-byte payload")
                return
            }
            guard length % 6 == 0 else {
                invalid(offset, .frameSizeError, "SETTINGS frame length \(length) is not a multiple of 6")
                return
            }
            var settings: [HTTP2Setting] = []
            settings.reserveCapacity(length / 6)
            var i = 0
            while i + 6 <= length {
                let id = HTTP2SettingIdentifier(UInt16(p[i]) << 8 | UInt16(p[i + 1]))
                settings.append(HTTP2Setting(id, readUInt32(p, i + 2)))
                i += 6
            }
            emit(.frame(frame(.settings(ack: ack, settings)), offset: offset))
            requireStream(true)
            for setting in settings {
                switch setting.identifier {
                case .enablePush where setting.value > 1:
                    invalid(offset, .protocolError, "SETTINGS_ENABLE_PUSH = \(setting.value)")
                case .enablePush where setting.value != 0 && side == .server:
                    invalid(offset, .protocolError, "server sent SETTINGS_ENABLE_PUSH = \(setting.value)")
                case .initialWindowSize where setting.value > UInt32(Int32.max):
                    invalid(offset, .flowControlError, "SETTINGS_INITIAL_WINDOW_SIZE = \(setting.value)")
                case .maxFrameSize where setting.value < 16_384 || setting.value > UInt32(HTTP2Defaults.maxFrameSizeLimit):
                    invalid(offset, .protocolError, "SETTINGS_MAX_FRAME_SIZE = \(setting.value)")
                default:
                    break
                }
            }

        case .pushPromise:
            let start = flags.contains(.padded) ? 1 : 0
            guard length >= start + 4 else {
                invalid(offset, .frameSizeError, "PUSH_PROMISE frame length \(length) is too short")
                hpack.reset()
                return
            }
            let promised = Int32(bitPattern: readUInt32(p, start) & 0x7fff_ffff)
            guard let block = unpadded(start + 4) else {
                hpack.reset()
                return
            }
            let promise = HTTP2Frame.PushPromise(promisedStreamID: promised, fields: nil,
                                                 endHeaders: flags.contains(.endHeaders),
                                                 padded: flags.contains(.padded))
            let pending = PendingBlock(offset: offset, streamID: streamID,
                                       frame: frame(.pushPromise(promise)), fragments: Array(p[block]))
            if side == .client {
                invalid(offset, .protocolError, "PUSH_PROMISE sent by a client")
            }
            if streamID == 0 {
                invalid(offset, .protocolError, "PUSH_PROMISE frame on stream 0")
            }
            startBlock(pending, complete: flags.contains(.endHeaders))

        case .ping:
            guard length == 8 else {
                invalid(offset, .frameSizeError, "PING frame length \(length), expected 8")
                return
            }
            let opaque = UInt64(readUInt32(p, 0)) << 32 | UInt64(readUInt32(p, 4))
            emit(.frame(frame(.ping(ack: flags.contains(.ack), opaque: opaque)), offset: offset))
            requireStream(true)

        case .goAway:
            guard length >= 8 else {
                invalid(offset, .frameSizeError, "GOAWAY frame length \(length), expected at least 8")
                return
            }
            let last = Int32(bitPattern: readUInt32(p, 0) & 0x7fff_ffff)
            let code = HTTP2ErrorCode(readUInt32(p, 4))
            emit(.frame(frame(.goAway(lastStreamID: last, errorCode: code, debugData: Array(p[8...]))),
                        offset: offset))
            requireStream(true)

        case .windowUpdate:
            guard length == 4 else {
                invalid(offset, .frameSizeError, "WINDOW_UPDATE frame length \(length), expected 4")
                return
            }
            let increment = readUInt32(p, 0) & 0x7fff_ffff
            emit(.frame(frame(.windowUpdate(increment: increment)), offset: offset))
            if increment == 0 {
                invalid(offset, .protocolError, "WINDOW_UPDATE with increment 0")
            }

        case .continuation:
            emit(.frame(frame(.continuation(endHeaders: flags.contains(.endHeaders))), offset: offset))
            invalid(offset, .protocolError, "CONTINUATION on stream \(streamID) without a preceding HEADERS or PUSH_PROMISE")
            // Whatever block this belonged to was not seen whole.
            hpack.reset()

        default:
            emit(.frame(frame(.unknown(type: type, flags: flags.rawValue, length: length)), offset: offset))
        }
    }

    private func startBlock(_ pending: PendingBlock, complete: Bool) {
        var pending = pending
        if pending.fragments.count > maxHeaderBlockSize {
            pending.oversized = true
            pending.fragments = []
        }
        if complete {
            completeBlock(pending)
        } else {
            pendingBlock = pending
        }
    }

    private func completeBlock(_ pending: PendingBlock) {
        var fields: [HTTP2Header]?
        var reason: String?
        if pending.oversized {
            hpack.reset()
            reason = "header block larger than \(maxHeaderBlockSize) bytes"
        } else {
            switch hpack.decode(pending.fragments) {
            case .success(let decoded): fields = decoded
            case .failure(let failure): reason = failure.reason
            }
        }
        var frame = pending.frame
        frame.setHeaderBlock(fields: fields, reason: reason)
        emit(.frame(frame, offset: pending.offset))
        for (continuation, offset) in pending.continuations {
            emit(.frame(continuation, offset: offset))
        }
    }

    private func abandonBlock(_ pending: PendingBlock, interruptedBy type: HTTP2FrameType,
                              streamID: Int32, at offset: Int) {
        hpack.reset()
        var frame = pending.frame
        frame.setHeaderBlock(fields: nil, reason: "header block interrupted by \(type.name) on stream \(streamID)")
        emit(.frame(frame, offset: pending.offset))
        for (continuation, continuationOffset) in pending.continuations {
            emit(.frame(continuation, offset: continuationOffset))
        }
        invalid(offset, .protocolError, "\(type.name) on stream \(streamID) inside the header block of stream \(pending.streamID) (expected CONTINUATION)")
    }

    /// Up to 32 bytes from `index`, quoted with non-printables escaped, for error reasons.
    private func printablePrefix(at index: Int) -> String {
        let end = min(buffer.count, index + 32)
        var text = "\""
        for byte in buffer[index..<end] {
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

extension HTTP2Frame {
    /// Fill in the decoded header block of a HEADERS or PUSH_PROMISE frame.
    mutating func setHeaderBlock(fields: [HTTP2Header]?, reason: String?) {
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

@inline(__always)
private func readUInt32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
    guard index >= 0, index + 4 <= bytes.count else { return 0 }
    return UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16
        | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
}

@inline(__always)
private func readPriority(_ bytes: [UInt8], _ index: Int) -> HTTP2PrioritySpec {
    let word = readUInt32(bytes, index)
    let weight = index + 4 < bytes.count ? Int(bytes[index + 4]) + 1 : 16
    return HTTP2PrioritySpec(dependency: Int32(bitPattern: word & 0x7fff_ffff), weight: weight,
                             exclusive: word & 0x8000_0000 != 0)
}
