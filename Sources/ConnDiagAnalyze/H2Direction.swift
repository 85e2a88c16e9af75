import ConnDiagCore
import ConnDiagHTTP2

/// One direction of a connection's HTTP/2: its frame decoder, and the sink that turns what
/// the decoder reports into the session's frames at their capture times.
final class H2Direction: HTTP2FrameSink {
    /// The session owns this direction and outlives it.
    unowned(unsafe) let session: H2Session
    let side: Int
    let decoder: HTTP2FrameDecoder
    /// These bytes were decoded from the connection's start (the preface, or the server's
    /// first SETTINGS): the receiver's limits apply from the first frame.
    let fromConnectionStart: Bool
    var frames = 0
    /// Bytes missing from this direction (capture gaps), and gaps that lost the frame boundaries.
    var gapBytes = 0
    var resyncs = 0
    /// Where each segment fed began (absolute byte offset) and its capture time; kept only
    /// while a frame is split across segments (a frame's time is its header's segment's).
    /// The first `segmentCount` entries are in use (the array is reused, never shrunk).
    private var segments: [(start: Int, t: Double)] = []
    private var segmentCount = 0
    private var segmentHead = 0
    /// Bytes fed so far: the absolute offset of the next segment's first byte (the decoder's
    /// `consumedOffset + bufferedByteCount`; this direction only uses its push API).
    private var fed = 0

    init(session: H2Session, side: Int, fromConnectionStart: Bool) {
        self.session = session
        self.side = side
        self.fromConnectionStart = fromConnectionStart
        decoder = HTTP2FrameDecoder(side: side == 0 ? .client : .server, fromConnectionStart: fromConnectionStart,
                                    maxFrameSize: fromConnectionStart ? HTTP2Defaults.maxFrameSize : HTTP2Defaults.maxFrameSizeLimit)
    }

    /// Decodes one in-order piece of this direction's bytes, captured at `t`.
    func feed(_ p: UnsafeRawBufferPointer, at t: Double) {
        if segmentCount < segments.count {
            segments[segmentCount] = (fed, t)
        } else {
            segments.append((fed, t))
        }
        segmentCount += 1
        fed += p.count
        decoder.feed(p, to: self)
        if decoder.bufferedByteCount == 0 {
            segmentCount = 0
            segmentHead = 0
        }
    }

    /// `count` bytes of this direction are missing here (a capture gap, at time `t`).
    func skipMissing(_ count: Int, at t: Double) -> HTTP2FrameDecoder.GapEffect {
        if segmentCount < segments.count {
            segments[segmentCount] = (fed, t)
        } else {
            segments.append((fed, t))
        }
        segmentCount += 1
        fed += count
        gapBytes += count
        let effect = decoder.skipMissing(count, to: self)
        if !effect.framingKept { resyncs += 1 }
        if decoder.bufferedByteCount == 0 {
            segmentCount = 0
            segmentHead = 0
        }
        return effect
    }

    /// Why this direction's bytes end inside a frame or header block, and when that frame
    /// began (`endedAt` when its segment is no longer known); nil when they end on a boundary.
    func finish(endedAt: Double) -> (reason: String, t: Double)? {
        guard case .truncated(let reason, let offset)? = decoder.finish() else { return nil }
        let known = segmentCount > 0 && segments[0].start <= offset
        return (reason, known ? time(offset) : endedAt)
    }

    /// The capture time of the segment holding the last header byte of the frame at `offset`.
    @inline(__always)
    private func time(_ offset: Int) -> Double {
        let end = offset + 8
        while segmentHead + 1 < segmentCount && segments[segmentHead + 1].start <= end { segmentHead += 1 }
        return segments[segmentHead].t
    }

    func decoded(_ result: HTTP2FrameDecoder.Result) {
        switch result {
        case .frame(let frame, let offset):
            frames += 1
            session.onFrame(side: side, frame, at: time(offset))
        case .invalid(let reason, let offset):
            session.invalid(side: side, reason, at: time(offset))
        case .stopped(let reason, let offset):
            session.stop(side: side, at: time(offset), reason)
        case .resynchronized(let skipped, let offset):
            session.resynchronized(side: side, skipped: skipped, at: time(offset))
        case .preface:
            session.prefaceSeen = true
        case .truncated, .needMoreData:
            break
        }
    }

    func decodedData(_ header: HTTP2FrameHeader, dataLength: Int, offset: Int) {
        frames += 1
        session.onData(side: side, stream: header.streamID, length: header.length, flags: header.flags.rawValue,
                       at: time(offset), session.connection)
    }

    func decodedHeaders(_ header: HTTP2FrameHeader, priority: HTTP2PrioritySpec?, block: UnsafeRawBufferPointer,
                        offset: Int, decoder d: HTTP2FrameDecoder) {
        frames += 1
        session.onHeaders(side: side, id: header.streamID, length: header.length, endStream: header.flags.contains(.endStream),
                          at: time(offset),
                          repeated: d.isRepeatedHeaderBlock(block), decoder: d, session.connection) { decoder, apply in
            // The decoder comes as an argument (`d`), so the closure holds no reference.
            guard let decoder else { return "no decoder" }
            return decoder.decodeHeaderBlock(block, visit: apply)
        }
    }
}
