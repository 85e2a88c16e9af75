import ConnDiagDiagnosis
import ConnDiagHTTP2
import ConnDiagPacket

/// In-order reassembly of one direction's payload for the HTTP/2 decoder. In-order segments
/// go straight through (no copy); a segment beyond the next expected byte is copied and held
/// until the hole fills; retransmitted and overlapping bytes are trimmed. A hole the capture
/// never fills (the other side acknowledged bytes never seen, too much held beyond it, or the
/// capture ends) and a payload cut by the snapshot length are gaps of a known size: the
/// decoder skips them and goes on (see `HTTP2FrameDecoder.skipMissing`). A reference: a
/// segment reads and updates it in place.
final class ByteStream {
    enum Mode: Equatable { case off, active, stopped }
    var mode: Mode = .off
    var next: UInt32 = 0
    /// Out-of-order bytes held, with how many bytes of their segment the capture cut off.
    var held: [(seq: UInt32, bytes: [UInt8], t: Double, cut: Int)] = []
    var heldBytes = 0
    /// The first byte after an HTTP/1.1 CONNECT's 2xx: a tunnel's bytes start there as a new
    /// connection's would.
    var tunnelStart: UInt32?
    /// Out-of-order bytes held per direction, and for all connections together.
    static let holdLimit = 512 << 10
    static let totalHoldLimit = 32 << 20

    func start(at seq: UInt32) { mode = .active; next = seq }

    func release(_ budget: HoldBudget) {
        budget.bytes -= heldBytes
        held = []
        heldBytes = 0
    }
}

/// Out-of-order bytes held by every connection of one engine run.
final class HoldBudget { var bytes = 0 }

extension Connection {
    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Who reads the reassembled bytes: TLS when they are TLS records, else HTTP/2.
    var bytesConsumer: ReassembledBytesConsumer? { tls ?? h2 }

    /// Hands a data segment's captured payload to the HTTP/2 decoder of its direction.
    func deliver(_ s: TCPSegment, side: Int, at t: Double, bytes: UnsafeRawBufferPointer) {
        let start = s.payloadOffset
        let count = s.capturedPayloadLength
        guard start >= 0, count > 0, start + count <= bytes.count else { return }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)])
        let cut = max(0, s.payloadLength - count)
        if let h1 = http1, h1.following {
            follow(h1, side: side, seq: s.sequence, payload, cut: cut, at: t)
            return
        }
        if streams[side].mode == .off && http1 == nil && h2 == nil && tls == nil && HTTP1Head.startsLikeRequest(payload) && side == 0 {
            let h1 = HTTP1Upgrade(requestAt: s.sequence)
            http1 = h1
            follow(h1, side: side, seq: s.sequence, payload, cut: cut, at: t)
            return
        }
        if side == 1 && streams[1].mode == .off && http1 == nil && h2 == nil && tls == nil && HTTP1Head.startsLikeResponse(payload) {
            // The answer to a request the capture began after: an h2c upgrade is still followed.
            let h1 = HTTP1Upgrade(responseAt: s.sequence)
            http1 = h1
            follow(h1, side: side, seq: s.sequence, payload, cut: cut, at: t)
            return
        }
        accept(side: side, seq: s.sequence, payload, cut: cut, at: t)
    }

    /// In-order bytes of `side` from `seq` for HTTP/2 (`cut`: bytes after them the snapshot
    /// length cut off): sniffed while the direction is not recognised yet, then decoded.
    func accept(side: Int, seq segmentSeq: UInt32, _ payload: UnsafeRawBufferPointer, cut: Int, at t: Double) {
        if streams[side].mode == .off, !sniffTLS(payload, seq: segmentSeq, side: side, at: t) {
            guard h2Candidate || h2 != nil else { return }
            guard sniffHTTP2(payload, seq: segmentSeq, side: side, at: t) else { return }
        }
        let bs = streams[side]
        guard bs.mode == .active, let consumer = bytesConsumer else { return }
        var seq = segmentSeq
        var p = payload
        if seq != bs.next {
            if seqLess(seq, bs.next) {
                let skip = Int(bs.next &- seq)
                guard skip < p.count + cut else { return }  // all of it seen before
                if skip >= p.count {
                    // Only the part the snapshot length cut off is new.
                    missing(side: side, upTo: segmentSeq &+ UInt32(p.count + cut), at: t, why: "cut by the capture's snapshot length")
                    return
                }
                p = UnsafeRawBufferPointer(rebasing: p[skip...])
                seq = bs.next
            } else {
                if bs.heldBytes + p.count > ByteStream.holdLimit || holdBudget.bytes + p.count > ByteStream.totalHoldLimit {
                    // Too much beyond the hole: the hole will not fill. Skip it and go on.
                    let firstHeld = bs.held.map(\.seq).min { seqLess($0, $1) } ?? seq
                    missing(side: side, upTo: seqLess(firstHeld, seq) ? firstHeld : seq, at: t,
                            why: "never captured: more than \(ByteStream.holdLimit >> 10) KiB arrived beyond them")
                    drainHeld(side: side)
                    accept(side: side, seq: segmentSeq, payload, cut: cut, at: t)
                    return
                }
                bs.held.append((seq, Array(p), t, cut))
                bs.heldBytes += p.count
                holdBudget.bytes += p.count
                return
            }
        }
        consumer.feed(side: side, p, at: t)
        bs.next = seq &+ UInt32(p.count)
        if cut > 0 { missing(side: side, upTo: bs.next &+ UInt32(cut), at: t, why: "cut by the capture's snapshot length") }
        if !bs.held.isEmpty { drainHeld(side: side) }
    }

    /// The bytes of `side` up to `end` will never be seen: the decoder skips them.
    func missing(side: Int, upTo end: UInt32, at t: Double, why: String) {
        let bs = streams[side]
        guard bs.mode == .active, let consumer = bytesConsumer, seqLess(bs.next, end) else { return }
        consumer.gap(side: side, bytes: Int(end &- bs.next), at: t, why: why)
        bs.next = end
    }

    /// The bytes of `side` up to `end` will never be seen: skipped, then what was held beyond
    /// them is decoded.
    func skipNeverSeen(side: Int, upTo end: UInt32, at t: Double, why: String) {
        missing(side: side, upTo: end, at: t, why: why)
        drainHeld(side: side)
    }

    private func drainHeld(side: Int) {
        let bs = streams[side]
        while !bs.held.isEmpty, bs.mode == .active, let consumer = bytesConsumer {
            let next = bs.next
            guard let i = bs.held.firstIndex(where: { seqLessOrEqual($0.seq, next) }) else { return }
            let item = bs.held.remove(at: i)
            bs.heldBytes -= item.bytes.count
            holdBudget.bytes -= item.bytes.count
            let skip = Int(next &- item.seq)
            if skip < item.bytes.count {
                item.bytes.withUnsafeBytes { raw in
                    consumer.feed(side: side, UnsafeRawBufferPointer(rebasing: raw[skip...]), at: item.t)
                }
                bs.next = item.seq &+ UInt32(item.bytes.count)
            }
            if item.cut > 0 { missing(side: side, upTo: item.seq &+ UInt32(item.bytes.count + item.cut), at: item.t, why: "cut by the capture's snapshot length") }
        }
    }

    /// The capture ended (or the connection did) with bytes held beyond holes: the holes
    /// were never filled, so they are skipped and what follows them is decoded.
    func flushHeld(at t: Double) {
        for side in 0..<2 {
            let bs = streams[side]
            while bs.mode == .active, let first = bs.held.map(\.seq).min(by: { seqLess($0, $1) }) {
                let before = bs.held.count
                skipNeverSeen(side: side, upTo: first, at: bs.held.first { $0.seq == first }?.t ?? t, why: "never captured")
                if bs.held.count == before { break }
            }
        }
    }

    /// Decides whether this direction carries HTTP/2: the client preface or a first SETTINGS
    /// frame at the start of a connection seen from its SYN, `--http2-port`, or a chain of
    /// plausible frame headers mid-connection.
    func sniffHTTP2(_ p: UnsafeRawBufferPointer, seq: UInt32, side: Int, at t: Double) -> Bool {
        let startsPreface = side == 0 && p.count >= 4 && (0..<min(p.count, Connection.preface.count)).allSatisfy { p[$0] == Connection.preface[$0] }
        // Not HTTP/2: an HTTP/1.1 message (with --http2-port too).
        if HTTP1Head.startsLikeResponse(p) || HTTP1Head.startsLikeRequest(p) { return false }
        let fromStart = (!midConnection && sides[side].isn.map { seq == $0 &+ 1 } == true) || streams[side].tunnelStart == seq
            // Mid-connection: the client's preface, or the server's first SETTINGS after it.
            || startsPreface
            || (side == 1 && h2?.directions[0]?.fromConnectionStart == true && H2Sniffer.startsWithSettings(p))
        var fromPreface = false
        if fromStart {
            if side == 0 {
                let n = min(p.count, Connection.preface.count)
                fromPreface = n >= 4 && (0..<n).allSatisfy { p[$0] == Connection.preface[$0] }
                if !fromPreface && !(h2Candidate && h2 != nil) && !forcedHTTP2 { h2Candidate = false; return false }
            } else {
                if !H2Sniffer.startsWithSettings(p) && !forcedHTTP2 && h2 == nil { return false }
            }
        } else {
            guard h2SniffBudget > 0 else { return false }
            h2SniffBudget -= 1
            let score = H2Sniffer.score(p)
            let strong = score.frames >= 2 || (score.frames == 1 && score.nonData >= 1 && score.exact)
            let weak = score.frames >= 1
            guard strong || (weak && (forcedHTTP2 || h2 != nil)) else { return false }
        }
        if h2 == nil {
            h2 = H2Session(connection: self, fromStart: !midConnection || fromPreface, stallThreshold: stallThreshold)
            if side == 0 && fromPreface { clientChosenBy = clientChosenBy == "syn" ? "syn" : "preface" }
        } else if fromPreface {
            // The server's bytes came first, but the client's begin at the preface.
            h2?.fromStart = true
        }
        h2?.startDirection(side: side, fromConnectionStart: fromStart, at: t, syncedMidStream: !fromStart)
        streams[side].start(at: seq)
        return true
    }
}

/// Frame-shape heuristics for a capture that begins mid-connection.
enum H2Sniffer {
    /// A SETTINGS frame (not an ACK) at the start of `p`: how each side's HTTP/2 begins.
    static func startsWithSettings(_ p: UnsafeRawBufferPointer) -> Bool {
        p.count >= 9 && p[3] == 4 && p[4] & 0xFE == 0 && p[5] == 0 && p[6] == 0 && p[7] == 0 && p[8] == 0
            && (Int(p[0]) << 16 | Int(p[1]) << 8 | Int(p[2])) % 6 == 0
    }

    struct Score { var frames = 0; var nonData = 0; var exact = false }

    /// How many plausible frame headers chain from the start of `p`.
    static func score(_ p: UnsafeRawBufferPointer) -> Score {
        var s = Score()
        var off = 0
        while off + 9 <= p.count {
            let length = Int(p[off]) << 16 | Int(p[off + 1]) << 8 | Int(p[off + 2])
            let type = p[off + 3], flags = p[off + 4]
            let stream = UInt32(p[off + 5]) << 24 | UInt32(p[off + 6]) << 16 | UInt32(p[off + 7]) << 8 | UInt32(p[off + 8])
            guard stream & 0x8000_0000 == 0, length <= 1 << 20 else { return Score() }
            let ok: Bool
            switch type {
            case 0: ok = stream != 0 && flags & ~0x09 == 0 && length <= 1 << 16
            case 1: ok = stream != 0 && flags & ~0x2D == 0 && stream & 1 == 1
            case 2: ok = stream != 0 && length == 5 && flags == 0
            case 3: ok = stream != 0 && length == 4 && flags == 0
            case 4: ok = stream == 0 && length % 6 == 0 && flags & ~0x01 == 0 && (flags == 0 || length == 0)
            case 6: ok = stream == 0 && length == 8 && flags & ~0x01 == 0
            case 7: ok = stream == 0 && length >= 8 && flags == 0
            case 8: ok = length == 4 && flags == 0
            case 9: ok = stream != 0 && flags & ~0x04 == 0
            default: ok = false
            }
            guard ok else { return s.frames > 0 && off == p.count ? s : Score() }
            s.frames += 1
            if type != 0 { s.nonData += 1 }
            off += 9 + length
        }
        s.exact = off == p.count
        if off < p.count && s.frames > 0 && off + 9 > p.count { s.exact = false }
        return s
    }
}
