import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2
import ConnDiagDiagnosis

/// Per-stream record.
struct H2Stream {
    var id: Int32
    var openedAt: Double
    var openedBy: Int
    var method: String?
    var path: String?
    var httpStatus: Int?
    var grpcStatus: GRPCStatusCode?
    var grpcMessage: String?
    var isGRPC = false
    var headersSeen = Pair(false, false)
    var trailersSeen = false
    var endStream = Pair(false, false)
    var endedAt: Double?
    var reset: (code: HTTP2ErrorCode, by: Int, at: Double)?
    var dataBytes = Pair(0, 0)
    var sendWindow = Pair(0, 0)
    var sentSinceUpdate = Pair(0, 0)
    var lastDataAt = Pair<Double?>(nil, nil)
    var lastWindowUpdateAt = Pair<Double?>(nil, nil)
    var undecodable: String?
    var end: StreamEnd = .open
}

/// What one header block says about its stream, applied only once the block decoded whole.
struct HeaderValues {
    var method: String?
    var path: String?
    var httpStatus: Int??
    var isGRPC = false
    var grpcStatus: GRPCStatusCode??
    var grpcMessage: String?

    func apply(to s: inout H2Stream) {
        if let v = method { s.method = v }
        if let v = path { s.path = v }
        if let v = httpStatus { s.httpStatus = v }
        if isGRPC { s.isGRPC = true }
        if let v = grpcStatus { s.grpcStatus = v }
        if let v = grpcMessage { s.grpcMessage = v }
    }
}

/// The HTTP/2 layer of one connection: frames both ways with their capture times, HPACK
/// (nghttp2's inflater via `HTTP2FrameDecoder`, one per direction), PING pairing, GOAWAY
/// and drains, RST_STREAM, gRPC status, per-stream ends and flow-control windows.
final class H2Session {
    /// The connection owns this session and outlives it (no reference counting per access).
    unowned(unsafe) let connection: Connection
    /// The connection's run budget (the same object), held here for the per-stream path.
    let runBudget: RunBudget
    /// The client's bytes were decoded from the connection preface on (a capture from the
    /// SYN, or one begun mid-connection that still holds the preface): settings, windows and
    /// the HPACK state are known.
    var fromStart: Bool
    let stallThreshold: Double
    /// Each direction's frame decoder, from when its bytes are recognised as HTTP/2.
    var directions = Pair<H2Direction?>(nil, nil) {
        didSet { unretainedDirections = Pair(directions.c.map(Unmanaged.passUnretained), directions.s.map(Unmanaged.passUnretained)) }
    }
    /// The same directions, for the per-segment path: `directions` keeps them alive, so a
    /// segment reaches its decoder without retaining and releasing it.
    private var unretainedDirections = Pair<Unmanaged<H2Direction>?>(nil, nil)
    var lost: [String?] = [nil, nil]
    var problems: [String] = []
    /// Every frame header the side's decoder read, by RFC 9113 type name ("UNKNOWN" for any
    /// other type), types never seen left out.
    func framesByType(side: Int) -> [(type: String, count: Int)] {
        guard let counts = directions[side]?.decoder.frameTypeCounts else { return [] }
        return counts.enumerated().compactMap { type, n in
            n == 0 ? nil : (type < 10 ? HTTP2FrameType(UInt8(type)).name : "UNKNOWN", n)
        }
    }
    /// The client's preface was decoded.
    var prefaceSeen = false
    /// Something in these bytes was HTTP/2 (the preface or a frame): with --http2-port, bytes
    /// that never were are not called HTTP/2.
    var sawHTTP2: Bool { prefaceSeen || frameCounts.c + frameCounts.s > 0 }
    var frameCounts: Pair<Int> { Pair(directions[0]?.frames ?? 0, directions[1]?.frames ?? 0) }

    var streams = StreamTable()
    var closedStreams: [H2Stream] = []
    var closedStreamCount = 0
    /// Closed streams that had a place among the first `keptStreams`, kept or not.
    var placedStreams = 0
    /// Completed streams whose record the run budget left out (ids; at most `keptStreams`).
    var omittedStreamIDs: [Int32] = []
    var omittedStreamRecords = 0
    /// A stream among the first `keptStreams` closed carried gRPC.
    var placedGRPC = false
    /// Streams by how they ended (`endName`): counts, and whether the name appeared at all.
    var endTally = Pair<[Int]>([0, 0, 0, 0, 0], [0, 0, 0, 0, 0])
    var endCounts: [String: Int] {
        var d: [String: Int] = [:]
        for (i, name) in H2Session.endNames.enumerated() where endTally.s[i] != 0 { d[name] = endTally.c[i] }
        return d
    }
    static let keptStreams = 200
    var highestStream = Pair<Int32>(0, 0)

    // Settings and flow control; index = the sender of DATA.
    var initialStreamWindow = Pair(65_535, 65_535)
    var connWindow = Pair(65_535, 65_535)
    var connSentSinceUpdate = Pair(0, 0)
    var lastConnWindowUpdateAt = Pair<Double?>(nil, nil)   // sent BY side (to open the other's window)
    var lastWindowUpdateAt = Pair<Double?>(nil, nil)       // any WINDOW_UPDATE sent by side
    var lastDataAt = Pair<Double?>(nil, nil)
    var dataBytes = Pair(0, 0)
    var settingsSeen = Pair(false, false)
    var blocked = Pair<Blocked?>(nil, nil)
    /// Decoded fields of the header block at hand (reused: no allocation per block).
    let headerScratch = HeaderScratch()
    /// The last method/path/authority/content-type/grpc-message strings, reused while the
    /// next stream's value has the same bytes.
    var interned = ["", "", "", "", ""]
    var stalls: [Stall] = []

    struct Blocked { var since: Double; var scope: Int32; var waiting: Int; var exact: Bool }
    struct Stall {
        var sender: Int; var since: Double; var until: Double; var ongoing: Bool; var scope: Int32
        var waiting: Int; var exact: Bool; var pingsAnswered: Int; var receiverLastUpdate: Double?
    }

    // PINGs: outstanding per sender.
    var pendingPings: [[(opaque: UInt64, t: Double)]] = [[], []]
    var pingRTTs: [Double] = []
    var pingsSent = Pair(0, 0)
    var pingAckTimes: [Double] = []
    var unansweredPings: [(side: Int, t: Double)] = []

    /// Header blocks that could not be decoded (the first few), and how many per side.
    var undecodableBlocks: [(t: Double, side: Int, stream: Int32, reason: String, stateKnown: Bool)] = []
    var undecodableCount = Pair(0, 0)
    /// Frames that broke a rule of RFC 9113 (the first per side), and how many per side.
    var firstViolation = Pair<(t: Double, reason: String)?>(nil, nil)
    var violationCount = Pair(0, 0)
    /// Each direction lost bytes to a capture gap since its HPACK context was last known good:
    /// a block that fails to decode is then for want of the lost state, not a broken peer.
    var hpackStateUnknown = Pair(false, false)
    /// Recently closed stream ids (mid-connection captures, where ids below the highest seen
    /// may belong to streams opened before the capture); bounded.
    private var closedIDs = Set<Int32>()
    private var closedOrder: [Int32] = []
    private var closedOrderHead = 0

    var goaways: [(t: Double, side: Int, last: Int32, code: HTTP2ErrorCode, debug: String)] = []
    var rstStreams: [(t: Double, side: Int, stream: Int32, code: HTTP2ErrorCode)] = []

    init(connection: Connection, fromStart: Bool, stallThreshold: Double) {
        self.connection = connection
        runBudget = connection.runBudget
        self.fromStart = fromStart
        self.stallThreshold = stallThreshold
    }

    static func name(_ side: Int) -> String { Connection.name(side) }

    /// What each side advertised in its SETTINGS (index = the advertiser, which receives the
    /// other side's frames): SETTINGS_MAX_FRAME_SIZE and SETTINGS_HEADER_TABLE_SIZE.
    private(set) var advertisedMaxFrameSize = Pair<Int?>(nil, nil)
    private(set) var advertisedTableSize = Pair(HTTP2Defaults.headerTableSize, HTTP2Defaults.headerTableSize)
    /// The dynamic table size a decoder allows when the receiver's SETTINGS were not captured.
    static let unknownTableSizeLimit = 1 << 20

    /// `side`'s SETTINGS (a frame, or an h2c upgrade's HTTP2-Settings field).
    func applySettings(from side: Int, _ entries: [HTTP2Setting]) {
        let other = 1 - side
        settingsSeen[side] = true
        applyLimits(advertisedBy: side, entries)
        for e in entries where e.identifier == .initialWindowSize {
            // The SETTINGS sender's receive window: the other side's send windows.
            let delta = Int(e.value) - initialStreamWindow[other]
            initialStreamWindow[other] = Int(e.value)
            for k in streams.ids { streams[k]!.sendWindow[other] += delta }
        }
    }

    /// The limits `side`'s SETTINGS (a frame, or an h2c upgrade's HTTP2-Settings) put on the
    /// other side's frames. They take effect at the ACK (RFC 9113 §6.5.3); until then the
    /// old and new values are both legal, so the larger one is allowed.
    func applyLimits(advertisedBy side: Int, _ entries: [HTTP2Setting]) {
        for e in entries {
            switch e.identifier {
            case .maxFrameSize:
                let size = Int(e.value)
                advertisedMaxFrameSize[side] = max(advertisedMaxFrameSize[side] ?? HTTP2Defaults.maxFrameSize, size)
                if let d = directions[1 - side]?.decoder { d.maxFrameSize = max(d.maxFrameSize == HTTP2Defaults.maxFrameSizeLimit ? 0 : d.maxFrameSize, size) }
            case .headerTableSize:
                advertisedTableSize[side] = max(advertisedTableSize[side], Int(e.value))
                directions[1 - side]?.decoder.allowHeaderTableSize(advertisedTableSize[side])
            default:
                break
            }
        }
    }

    func startDirection(side: Int, fromConnectionStart: Bool, at t: Double, syncedMidStream: Bool) {
        let direction = H2Direction(session: self, side: side, fromConnectionStart: fromConnectionStart)
        directions[side] = direction
        // What the receiver advertised before these bytes were recognised still holds.
        if let size = advertisedMaxFrameSize[1 - side] { direction.decoder.maxFrameSize = max(direction.decoder.maxFrameSize, size) }
        // Mid-connection the receiver's SETTINGS were not seen: any table size it may have allowed.
        direction.decoder.allowHeaderTableSize(fromConnectionStart ? advertisedTableSize[1 - side] : H2Session.unknownTableSizeLimit)
        if syncedMidStream, connection.wants(important: true) {
            connection.record(Event(t: t, source: .h2, kind: "h2-sync", direction: connection.dir(side),
                                    detail: "HTTP/2 frames from the \(H2Session.name(side)) recognised mid-connection (frame-shape heuristics); header blocks need the HPACK state from the connection's start"))
        }
    }

    /// `count` bytes of `side`'s HTTP/2 are missing (`why`: lost, or cut by the snapshot
    /// length): decoding goes on after them, exactly when the gap ends inside one frame, else
    /// from the next frame header that validates.
    func gap(side: Int, bytes count: Int, at t: Double, why: String) {
        guard lost[side] == nil, let direction = directions[side] else { return }
        let effect = direction.skipMissing(count, at: t)
        if effect.headerStateLost { hpackStateUnknown[side] = true }
        guard connection.wants(important: true) else { return }
        let what = effect.framingKept
            ? (effect.headerStateLost ? "a header block was lost with them, so the HPACK state is unknown from here" : "the frame boundaries are kept")
            : "the frame boundaries are lost: decoding resumes at the next frame header that validates; the HPACK state is unknown from here"
        connection.record(Event(t: t, source: .h2, kind: .captureGap, direction: connection.dir(side),
                                detail: "\(count) bytes of the \(H2Session.name(side))'s HTTP/2 missing (\(why)); \(what)",
                                fields: [("len", .int(Int64(count)))]))
    }

    /// Decoding of `side` found a frame header again after a gap, `skipped` bytes after it.
    func resynchronized(side: Int, skipped: Int, at t: Double) {
        guard connection.wants(important: true) else { return }
        connection.record(Event(t: t, source: .h2, kind: "h2-resync", direction: connection.dir(side),
                                detail: "HTTP/2 from the \(H2Session.name(side)) resynchronised at a frame header \(skipped) bytes after the gap",
                                fields: [("skipped", .int(Int64(skipped)))]))
    }

    /// The decoder lost the frame boundaries (or this is not HTTP/2).
    func stop(side: Int, at t: Double, _ reason: String) {
        problems.append(reason)
        lost[side] = reason
        if connection.wants(important: true) {
            connection.record(Event(t: t, source: .h2, kind: .invalid, direction: connection.dir(side), detail: reason))
        }
    }

    /// A frame the decoder found broken; decoding goes on.
    func invalid(side: Int, _ reason: String, at t: Double) {
        violationCount[side] += 1
        if firstViolation[side] == nil { firstViolation[side] = (t, reason) }
        // The report lists the first 20; a stream of broken frames must not grow this without bound.
        if problems.count < 64 { problems.append("\(H2Session.name(side)): \(reason)") }
        if connection.wants(important: true) {
            connection.record(Event(t: t, source: .h2, kind: .invalid, direction: connection.dir(side),
                                    detail: "invalid HTTP/2 from the \(H2Session.name(side)): \(reason)"))
        }
    }

    /// Decodes one in-order piece of a direction's bytes, captured at `t`.
    @inline(__always)
    func feed(side: Int, _ p: UnsafeRawBufferPointer, at t: Double) {
        guard lost[side] == nil else { return }
        unretainedDirections[side]?._withUnsafeGuaranteedRef { $0.feed(p, at: t) }
    }

    // MARK: - Frames

    private func stream(_ id: Int32, openedBy side: Int, at t: Double) -> H2Stream? {
        if let s = streams[id] { return s }
        guard id != 0, !isClosed(id) else { return nil }
        // A stream we never saw open: its frames still count (mid-connection captures).
        var s = H2Stream(id: id, openedAt: t, openedBy: id & 1 == 1 ? 0 : 1)
        s.sendWindow = Pair(initialStreamWindow[0], initialStreamWindow[1])
        if id > highestStream[s.openedBy] { highestStream[s.openedBy] = id }
        if !fromStart { s.undecodable = nil }
        return s
    }

    /// The index of stream `id`'s record, created in place when new (nil for stream 0):
    /// the same record `stream(_:openedBy:at:)` makes, without copying it around.
    private func openStream(_ id: Int32, at t: Double) -> StreamTable.Index? {
        if let i = streams.index(forKey: id) { return i }
        guard id != 0, !isClosed(id) else { return nil }
        let opener = id & 1 == 1 ? 0 : 1
        let i = streams.insert(H2Stream(id: id, openedAt: t, openedBy: opener, sendWindow: Pair(initialStreamWindow[0], initialStreamWindow[1])), forKey: id)
        if id > highestStream[opener] { highestStream[opener] = id }
        return i
    }

    /// Stream `id` is not open and was open before: frames still in flight after its end
    /// (DATA after RST_STREAM, a late WINDOW_UPDATE) must not open it a second time. From the
    /// preface on, ids only grow (RFC 9113 §5.1.1), so any id up to the highest its opener
    /// used is closed; mid-connection only the ids seen closing are known.
    private func isClosed(_ id: Int32) -> Bool {
        let opener = id & 1 == 1 ? 0 : 1
        if fromStart && id <= highestStream[opener] { return true }
        return closedIDs.contains(id)
    }

    private func rememberClosed(_ id: Int32) {
        guard !fromStart else { return }
        if closedOrder.count < 4096 {
            closedOrder.append(id)
        } else {
            closedIDs.remove(closedOrder[closedOrderHead])
            closedOrder[closedOrderHead] = id
            closedOrderHead = (closedOrderHead + 1) % closedOrder.count
        }
        closedIDs.insert(id)
    }

    /// Stream 1 of an h2c upgrade (RFC 7540 §3.2): the HTTP/1.1 request, half-closed from the
    /// client (its request was whole before the upgrade).
    func openUpgradedStream(method: String?, path: String?, at t: Double) {
        guard streams[1] == nil, let i = openStream(1, at: t) else { return }
        streams[slot: i].method = method
        streams[slot: i].path = path
        streams[slot: i].headersSeen.c = true
        streams[slot: i].endStream.c = true
    }

    /// A pushed stream (PUSH_PROMISE): reserved by the server, which alone sends on it; the
    /// promise carries its request.
    private func openPushedStream(_ id: Int32, fields: [HTTP2Header]?, at t: Double) {
        guard id != 0, streams[id] == nil, let i = openStream(id, at: t) else { return }
        streams[slot: i].headersSeen.c = true
        streams[slot: i].endStream.c = true
        for f in fields ?? [] {
            if f.name == ":method" { streams[slot: i].method = f.value }
            if f.name == ":path" { streams[slot: i].path = f.value }
        }
    }

    /// A header block that could not be decoded: kept for the findings.
    private func noteUndecodable(side: Int, stream id: Int32, reason: String, at t: Double) {
        undecodableCount[side] += 1
        if undecodableBlocks.count < 16 {
            undecodableBlocks.append((t, side, id, reason, fromStart && !hpackStateUnknown[side]))
        }
    }

    func onData(side: Int, stream id: Int32, length: Int, flags: UInt8, at t: Double, _ conn: Connection) {
        dataBytes[side] += length
        lastDataAt[side] = t
        connWindow[side] -= length
        connSentSinceUpdate[side] += length
        guard let index = openStream(id, at: t) else { return }
        let end = flags & 0x1 != 0
        // One lookup, then the record is updated in place.
        let (window, sentSince, closing) = H2Session.update(&streams[slot: index]) { s in
            s.dataBytes[side] += length
            s.sendWindow[side] -= length
            s.sentSinceUpdate[side] += length
            s.lastDataAt[side] = t
            if end { s.endStream[side] = true }
            return (s.sendWindow[side], s.sentSinceUpdate[side], s.endStream.c && s.endStream.s)
        }
        if settingsSeen[1 - side] || fromStart {
            // Exact windows: blocked when the connection or this stream window is used up.
            if connWindow[side] <= 0 && blocked[side] == nil {
                blocked[side] = Blocked(since: t, scope: 0, waiting: connSentSinceUpdate[side], exact: true)
            } else if window <= 0 && !end && blocked[side] == nil {
                blocked[side] = Blocked(since: t, scope: id, waiting: sentSince, exact: true)
            }
        }
        // A stream's last DATA frame is important while the run has room for routine events
        // (a busy connection ends thousands of streams; the counts keep them all).
        if conn.wants(important: end && conn.runBudget.routineEventsLeft) {
            conn.record(HTTP2FrameEvent.data(streamID: id, length: length, endStream: end, direction: conn.dir(side), at: t))
        }
        if end && closing { finish(id, at: t) }
    }

    @inline(__always)
    private static func update<R>(_ s: inout H2Stream, _ body: (inout H2Stream) -> R) -> R { body(&s) }

    func onFrame(side: Int, _ frame: HTTP2Frame, at t: Double) {
        let other = 1 - side
        let id = frame.streamID
        var important = true
        var notes = HTTP2FrameEvent.Notes()
        switch frame.payload {
        case .settings(let ack, let entries):
            important = !ack
            if !ack { applySettings(from: side, entries) }
        case .ping(let ack, let opaque):
            important = false
            if ack {
                if let i = pendingPings[other].firstIndex(where: { $0.opaque == opaque }) {
                    let rtt = t - pendingPings[other][i].t
                    pendingPings[other].remove(at: i)
                    if pingRTTs.count < 100_000 { pingRTTs.append(rtt) }
                    pingAckTimes.append(t)
                    if pingAckTimes.count > 4096 { pingAckTimes.removeFirst(2048) }
                    notes.pingRTT = rtt
                } else {
                    notes.pingNotCaptured = true
                }
            } else {
                pingsSent[side] += 1
                if pendingPings[side].count >= 16 {
                    let old = pendingPings[side].removeFirst()
                    unansweredPings.append((side, old.t))
                }
                pendingPings[side].append((opaque, t))
            }
        case .goAway(let last, let code, let debug):
            goaways.append((t, side, last, code, String(decoding: debug.prefix(256), as: UTF8.self)))
        case .rstStream(let code):
            rstStreams.append((t, side, id, code))
            if streams[id] == nil, let k = closedStreams.lastIndex(where: { $0.id == id }), closedStreams[k].reset == nil {
                // A reset right after END_STREAM both ways (grpc C-core ends a drained stream
                // with trailers, then RST_STREAM): the trailers decide, the reset is recorded.
                tally(closedStreams[k].end, -1)
                closedStreams[k].reset = (code, side, t)
                closedStreams[k].end = streamEnd(closedStreams[k], connectionEnd: nil)
                tally(closedStreams[k].end, +1)
            } else if streams[id] == nil, let k = omittedStreamIDs.lastIndex(of: id) {
                // The same for a completed stream whose record the run budget left out.
                omittedStreamIDs.remove(at: k)
                tally(.completed(httpStatus: nil, grpcStatus: nil, grpcMessage: nil), -1)
                tally(.reset(code, afterTrailers: nil), +1)
            } else if var s = stream(id, openedBy: side, at: t) {
                if s.reset == nil { s.reset = (code, side, t) }
                streams[id] = s
                finish(id, at: t)
            }
        case .windowUpdate(let inc):
            important = false
            lastWindowUpdateAt[side] = t
            if id == 0 {
                connWindow[other] += Int(inc)
                connSentSinceUpdate[other] = 0
                lastConnWindowUpdateAt[side] = t
            } else if var s = streams[id] {
                s.sendWindow[other] += Int(inc)
                s.sentSinceUpdate[other] = 0
                s.lastWindowUpdateAt[side] = t
                streams[id] = s
            }
            if let b = blocked[other], b.scope == 0 || b.scope == id {
                let window = b.scope == 0 ? connWindow[other] : (streams[b.scope]?.sendWindow[other] ?? 1)
                if window > 0 || !b.exact {
                    if t - b.since > stallThreshold { recordStall(sender: other, b, until: t, ongoing: false) }
                    blocked[other] = nil
                    // The other window (stream or connection) may still be used up.
                    if connWindow[other] <= 0 {
                        blocked[other] = Blocked(since: b.since, scope: 0, waiting: connSentSinceUpdate[other], exact: true)
                    } else if let s = streams.values.first(where: { $0.sendWindow[other] <= 0 && !$0.endStream[other] && $0.lastDataAt[other] != nil }) {
                        blocked[other] = Blocked(since: b.since, scope: s.id, waiting: s.sentSinceUpdate[other], exact: true)
                    } else {
                        important = true
                        notes.windowReopenedAfter = t - b.since
                    }
                }
            }
        case .headers(let h):
            // A block the decoder decoded itself (after CONTINUATION, or one it could not
            // decode): the same handling as a block decoded in place.
            onHeaders(side: side, id: id, length: frame.length, endStream: h.endStream, at: t, repeated: false, decoder: nil, connection) { _, apply in
                guard let fields = h.fields else { return h.undecodableReason ?? "not decodable" }
                for field in fields {
                    var name = field.name, value = field.value
                    name.withUTF8 { n in value.withUTF8 { v in apply(UnsafeRawBufferPointer(n), UnsafeRawBufferPointer(v)) } }
                }
                return nil
            }
            return
        case .pushPromise(let p):
            if let reason = p.undecodableReason { noteUndecodable(side: side, stream: id, reason: reason, at: t) }
            if side == 1 { openPushedStream(p.promisedStreamID, fields: p.fields, at: t) }
        case .priority, .continuation:
            // Not part of the timeline (a CONTINUATION's block is reported with its HEADERS).
            return
        default:
            break
        }
        // Strings are built only for an event that is kept.
        if connection.wants(important: important) {
            connection.record(HTTP2FrameEvent.event(frame, from: H2Session.sender(side), direction: connection.dir(side),
                                                    at: t, notes: notes))
        }
    }

    /// The decoder's name for a side (0 client, 1 server).
    static func sender(_ side: Int) -> HTTP2FrameDecoder.Side { side == 0 ? .client : .server }

    /// A HEADERS frame's header block. `decode` hands every field to the closure it is given
    /// and returns nil, or returns why the block could not be decoded. Fields go to the
    /// stream's record only when the whole block decoded, and are copied (into the reused
    /// `headerScratch`) only when the frame's event may be kept.
    ///
    /// `repeated`: `decode` hands out the fields of the last block `decoder` decoded (see
    /// `HTTP2FrameDecoder.isRepeatedHeaderBlock`), and would again if called twice. Then
    /// what the fields say is reused when it was noted under the decoder's generation,
    /// and the fields are copied only for an event that is kept.
    func onHeaders(side: Int, id: Int32, length: Int, endStream: Bool, at t: Double,
                           repeated: Bool, decoder: HTTP2FrameDecoder?, _ conn: Connection,
                           decode: (HTTP2FrameDecoder?, (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> String?) {
        guard let index = openStream(id, at: t) else {
            // A block on stream 0 or on a closed stream: no record, but the HPACK context must
            // see every block (a repeated one changes nothing).
            if !repeated, let reason = decode(decoder, { _, _ in }) { noteUndecodable(side: side, stream: id, reason: reason, at: t) }
            return
        }
        // Copy the fields only when this frame's event may be kept: as a routine event, or
        // as an important one (only trailers or a block with END_STREAM can be one).
        let trailersNext = H2Session.update(&streams[slot: index]) { $0.headersSeen[side] }  // in place, no copy
        let collect = conn.wouldKeepRoutine || ((trailersNext || endStream) && conn.mayKeep)
        // A repeated block can be decoded again once the event is known to be kept.
        let collectNow = collect && !repeated
        let scratch = headerScratch
        if collectNow { scratch.reset() }
        // What only a stream record shows (method, path, status, gRPC or not) is not kept
        // once this connection has placed all the records it may keep.
        let forRecord = placedStreams < H2Session.keptStreams
        var found: HeaderValues
        let failure: String?
        if repeated && !forRecord, let g = noted[side], g.generation == decoder?.headerBlockGeneration {
            // The same fields as the block noted: the same values (only gRPC status is read
            // once records are no longer kept).
            found = HeaderValues()
            found.grpcStatus = g.grpcStatus
            failure = nil
        } else {
            found = HeaderValues()
            failure = decodeFields(decode, decoder, into: &found, forRecord: forRecord, collect: collectNow)
            if let d = decoder {
                noted[side] = failure == nil && !forRecord ? (d.headerBlockGeneration, found.grpcStatus) : nil
            }
        }
        let decoded = failure == nil
        var reason = failure
        if let failure {
            noteUndecodable(side: side, stream: id, reason: failure, at: t)
            if !fromStart { reason = "not decodable: capture began mid-connection (\(failure))" }
            else if hpackStateUnknown[side] { reason = "not decodable: HPACK state lost in a capture gap (\(failure))" }
        }
        // The stream's record is updated in place (one lookup, no copy).
        let (isTrailers, grpcStatus, closing) = H2Session.update(&streams[slot: index]) { s -> (Bool, GRPCStatusCode?, Bool) in
            let isTrailers = s.headersSeen[side]
            s.headersSeen[side] = true
            if isTrailers { s.trailersSeen = true }
            if decoded { found.apply(to: &s) } else { s.undecodable = reason }
            if endStream { s.endStream[side] = true }
            if id > highestStream[s.openedBy] { highestStream[s.openedBy] = id }
            return (isTrailers, s.grpcStatus, s.endStream.c && s.endStream.s)
        }
        let important = decoded && grpcStatus != nil && grpcStatus != .ok && (isTrailers || endStream)
        if endStream && closing { finish(id, at: t) }
        guard conn.wants(important: important) else { return }
        if decoded && collect && !collectNow {
            // A repeated block: its fields again, now that the event is kept.
            scratch.reset()
            _ = decode(decoder) { name, value in scratch.add(name, value) }
        }
        let event = HTTP2FrameEvent.headers(streamID: id, length: length, endStream: endStream, fields: decoded ? scratch.headers() : nil,
                                            undecodable: reason ?? "not decodable", isTrailers: isTrailers,
                                            from: H2Session.sender(side), direction: conn.dir(side), at: t)
        conn.record(event)
    }

    /// What the last header block decoded whole in each direction said, with the decoder's
    /// generation right after it (see `onHeaders`); nil when nothing may be reused.
    private var noted = Pair<(generation: Int, grpcStatus: GRPCStatusCode??)?>(nil, nil)

    /// Hands every field of a header block to the analysis (and to `headerScratch` when
    /// `collect`); returns why the block could not be decoded, or nil.
    @inline(__always)
    private func decodeFields(_ decode: (HTTP2FrameDecoder?, (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> String?,
                              _ decoder: HTTP2FrameDecoder?,
                              into found: inout HeaderValues, forRecord: Bool, collect: Bool) -> String? {
        let scratch = headerScratch
        return decode(decoder) { name, value in
            switch HeaderScratch.Known(name) {
            case .grpcStatus: found.grpcStatus = .some(GRPCStatusCode(headerValue: String(decoding: value, as: UTF8.self)))
            case .other, .authority: break
            case _ where !forRecord: break
            case .method: found.method = intern(value, 0)
            case .path: found.path = intern(value, 1)
            case .status: found.httpStatus = .some(H2Session.decimal(value))
            case .contentType:
                if value.starts(with: HeaderScratch.grpcContentType) && intern(value, 3).hasPrefix("application/grpc") { found.isGRPC = true }
            case .grpcMessage: found.grpcMessage = GRPCStatusCode.decodeMessage(intern(value, 4))
            }
            if collect { scratch.add(name, value) }
        }
    }

    /// `Int(String(decoding: value, as: UTF8.self))`, read from the bytes when they are 1 to
    /// 18 ASCII digits (as a `:status` is), else by that very expression.
    @inline(__always)
    static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        guard (1...18).contains(value.count) else { return Int(String(decoding: value, as: UTF8.self)) }
        var n = 0
        for b in value {
            guard b >= 0x30 && b <= 0x39 else { return Int(String(decoding: value, as: UTF8.self)) }
            n = n &* 10 &+ Int(b &- 0x30)
        }
        return n
    }

    /// A String for a header value, the same instance as last time when the bytes repeat.
    private func intern(_ value: UnsafeRawBufferPointer, _ slot: Int) -> String {
        var last = interned[slot]
        let same = last.withUTF8 { UnsafeRawBufferPointer($0).elementsEqual(value) }
        if same { return last }
        let s = String(decoding: value, as: UTF8.self)
        interned[slot] = s
        return s
    }

    /// Mid-connection captures: window sizes unknown, so a stall is inferred from its shape:
    /// a window's worth (16 KiB or more) sent since the receiver's last WINDOW_UPDATE, then
    /// no DATA from the sender; `recordStall` later requires it to last past the threshold.
    private func inferStall(side: Int, _ s: H2Stream) {
        guard blocked[side] == nil, !fromStart, !settingsSeen[1 - side], !s.endStream[side], let last = s.lastDataAt[side] else { return }
        let waiting = max(s.sentSinceUpdate[side], connSentSinceUpdate[side])
        guard waiting >= 16_384, lastDataAt[side] == last else { return }
        blocked[side] = Blocked(since: last, scope: s.sentSinceUpdate[side] >= connSentSinceUpdate[side] ? s.id : 0, waiting: waiting, exact: false)
    }

    private func finish(_ id: Int32, at t: Double) {
        guard let i = streams.index(forKey: id) else { return }
        if !fromStart { let open = streams[slot: i]; for side in 0..<2 { inferStall(side: side, open) } }
        // The record is settled in its slot, then the stream leaves the table (the slot's
        // record stays readable until the next stream opens), without a copy.
        streams[slot: i].endedAt = t
        let end = streamEnd(streams[slot: i], connectionEnd: nil)
        streams[slot: i].end = end
        streams.removeKey(id)
        rememberClosed(id)
        if let b = blocked[0], b.scope == id { blocked[0] = nil; if t - b.since > stallThreshold { recordStall(sender: 0, b, until: t, ongoing: false) } }
        if let b = blocked[1], b.scope == id { blocked[1] = nil; if t - b.since > stallThreshold { recordStall(sender: 1, b, until: t, ongoing: false) } }
        keep(streams[slot: i])
    }

    private func keep(_ s: H2Stream) {
        closedStreamCount += 1
        tally(s.end, +1)
        guard placedStreams < H2Session.keptStreams else { return }
        placedStreams += 1
        if s.isGRPC { placedGRPC = true }
        let budget = runBudget
        if case .completed = s.end {
            guard budget.completedStreams < budget.completedStreamLimit else { omittedStreamIDs.append(s.id); omittedStreamRecords += 1; return }
            budget.completedStreams += 1
        }
        closedStreams.append(s)
    }

    func streamEnd(_ s: H2Stream, connectionEnd: String?) -> StreamEnd {
        // A response complete with END_STREAM, then RST_STREAM(NO_ERROR): the server asks the
        // client to stop sending a request it no longer needs (RFC 9113 §8.1); the stream completed.
        let completedThenNoError = s.reset.map { $0.code == .noError && s.endStream.s } ?? false
        if let r = s.reset, !completedThenNoError { return .reset(r.code, afterTrailers: s.trailersSeen ? s.grpcStatus : nil) }
        if (s.endStream[0] && s.endStream[1]) || completedThenNoError { return .completed(httpStatus: s.httpStatus, grpcStatus: s.grpcStatus, grpcMessage: s.grpcMessage) }
        if let g = goaways.last(where: { $0.side != s.openedBy }), s.id > g.last { return .refusedByGoaway(lastStreamID: g.last) }
        if let how = connectionEnd { return .killedByConnectionClose(how: how) }
        return .open
    }

    static let endNames = ["completed", "reset", "refused", "killed", "open"]

    static func endIndex(_ e: StreamEnd) -> Int {
        switch e {
        case .completed: return 0
        case .reset: return 1
        case .refusedByGoaway: return 2
        case .killedByConnectionClose: return 3
        case .open: return 4
        }
    }

    static func endName(_ e: StreamEnd) -> String { endNames[endIndex(e)] }

    private func tally(_ e: StreamEnd, _ delta: Int) {
        let i = H2Session.endIndex(e)
        endTally.c[i] += delta
        endTally.s[i] = 1
    }

    private func recordStall(sender: Int, _ b: Blocked, until: Double, ongoing: Bool) {
        let pings = pingAckTimes.filter { $0 >= b.since && $0 <= until }.count
        let receiverUpdate = b.scope == 0 ? lastConnWindowUpdateAt[1 - sender] : (streams[b.scope]?.lastWindowUpdateAt[1 - sender] ?? lastWindowUpdateAt[1 - sender])
        stalls.append(Stall(sender: sender, since: b.since, until: until, ongoing: ongoing, scope: b.scope, waiting: b.waiting,
                            exact: b.exact, pingsAnswered: pings, receiverLastUpdate: receiverUpdate))
    }

    // MARK: - End of the connection

    /// Settles open streams, stalls and PINGs when the connection ends (or the capture does).
    func finalize(endedAt: Double, how: String?) {
        for side in 0..<2 where lost[side] == nil {
            // The bytes of a direction that end inside a frame: shown, as any broken input.
            if let (reason, t) = directions[side]?.finish(endedAt: endedAt), connection.wants(important: true) {
                connection.record(Event(t: t, source: .h2, kind: .truncated, direction: connection.dir(side),
                                        detail: "HTTP/2 from the \(H2Session.name(side)) is cut short: \(reason)"))
            }
        }
        for side in 0..<2 {
            // Mid-connection captures: window sizes unknown, so infer the stall from its shape:
            // a full window's worth sent, then nothing and no WINDOW_UPDATE for too long.
            let candidates = streams.values.filter { !$0.endStream[side] && $0.lastDataAt[side] != nil }
            if let s = candidates.max(by: { ($0.lastDataAt[side] ?? 0) < ($1.lastDataAt[side] ?? 0) }) { inferStall(side: side, s) }
            if let b = blocked[side] {
                var until = endedAt
                if b.scope != 0, let s = streams[b.scope], let r = s.reset { until = min(until, r.at) }
                if until - b.since > stallThreshold { recordStall(sender: side, b, until: until, ongoing: how == nil) }
            }
        }
        for (id, s) in streams.sortedByID() {
            var s = s
            s.end = streamEnd(s, connectionEnd: how)
            keep(s)
            streams[id] = nil
        }
        for side in 0..<2 {
            for p in pendingPings[side] where endedAt - p.t > 0.5 || how != nil { unansweredPings.append((side, p.t)) }
        }
    }
}

/// A stream's id as a dictionary key: hashed by a seeded multiply-xorshift mix of the one
/// word instead of SipHash (several lookups per stream, a million streams in a big capture).
/// `_rawHashValue` is the standard library's underscored hook for that; it stays because
/// analyze measured ~10 % more CPU without it (0.51 s vs 0.456 s median on a 404k-packet
/// h2load capture), and `hash(into:)` keeps the key usable wherever a Hasher is used.
struct StreamKey: Hashable {
    var id: Int32
    @inline(__always) init(_ id: Int32) { self.id = id }
    @inline(__always)
    func _rawHashValue(seed: Int) -> Int {
        var x = UInt64(UInt32(bitPattern: id)) ^ UInt64(bitPattern: Int64(seed)) ^ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(bitPattern: UInt(x ^ (x >> 31)))
    }
    func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// The open streams of a session by id. The records live in one array, reused slot by
/// slot as streams close; a dictionary keyed by `StreamKey` maps an id to its slot. A record
/// is updated in place through its slot (`subscript(slot:)`): no copy of the record and no
/// dictionary accessor per frame.
struct StreamTable {
    typealias Index = Int
    private var slots: [StreamKey: Int] = [:]
    private var records: [H2Stream] = []
    private var free: [Int] = []

    @inline(__always)
    subscript(id: Int32) -> H2Stream? {
        get { slots[StreamKey(id)].map { records[$0] } }
        set {
            if let s = newValue { updateValue(s, forKey: id) } else { removeValue(forKey: id) }
        }
    }
    /// The record in `slot` (from `index(forKey:)` or `insert`), read and updated in place.
    @inline(__always)
    subscript(slot i: Index) -> H2Stream {
        _read { yield records[i] }
        _modify { yield &records[i] }
    }
    @inline(__always)
    func index(forKey id: Int32) -> Index? { slots[StreamKey(id)] }
    /// Adds the record of a stream not in the table; returns its slot.
    @inline(__always)
    mutating func insert(_ s: H2Stream, forKey id: Int32) -> Index {
        let i: Int
        if let f = free.popLast() {
            records[f] = s
            i = f
        } else {
            records.append(s)
            i = records.count - 1
        }
        slots[StreamKey(id)] = i
        return i
    }
    @inline(__always)
    @discardableResult
    mutating func updateValue(_ s: H2Stream, forKey id: Int32) -> H2Stream? {
        if let i = slots[StreamKey(id)] {
            let old = records[i]
            records[i] = s
            return old
        }
        _ = insert(s, forKey: id)
        return nil
    }
    @inline(__always)
    @discardableResult
    mutating func removeValue(forKey id: Int32) -> H2Stream? {
        guard let i = slots.removeValue(forKey: StreamKey(id)) else { return nil }
        free.append(i)
        // The slot keeps its stale record until reused; only `slots` says what is open.
        return records[i]
    }
    /// Takes stream `id` out of the table without copying its record: its slot is reused by
    /// the next `insert`, and until then `subscript(slot:)` still reads the record.
    @inline(__always)
    mutating func removeKey(_ id: Int32) {
        if let i = slots.removeValue(forKey: StreamKey(id)) { free.append(i) }
    }
    /// The open streams' records (in no particular order, as a dictionary's values).
    var values: [H2Stream] { slots.values.map { records[$0] } }
    var ids: [Int32] { slots.keys.map { $0.id } }
    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }
    func sortedByID() -> [(key: Int32, value: H2Stream)] {
        slots.map { (key: $0.key.id, value: records[$0.value]) }.sorted { $0.key < $1.key }
    }
}
