import ConnDiagDiagnosis
import ConnDiagPacket

/// In-order reassembly of one direction's payload for the HTTP/2 decoder. In-order segments
/// go straight through (no copy); a segment beyond the next expected byte is copied and held
/// until the hole fills; retransmitted and overlapping bytes are trimmed. A hole the capture
/// never fills, or a payload cut by the snapshot length, stops the direction: nothing is
/// guessed over. A reference: a segment reads and updates it in place.
final class ByteStream {
    enum Mode: Equatable { case off, active, stopped }
    var mode: Mode = .off
    var next: UInt32 = 0
    var held: [(seq: UInt32, bytes: [UInt8], t: Double)] = []
    var heldBytes = 0
    /// Out-of-order bytes held per direction, and for all connections together.
    static let holdLimit = 512 << 10
    static let totalHoldLimit = 32 << 20

    func start(at seq: UInt32) { mode = .active; next = seq }

    func gap(at seq: UInt32, bytes: Int, budget: HoldBudget) {
        if mode == .active && seqLessOrEqual(next, seq) { mode = .stopped; release(budget) }
    }

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
        if streams[side].mode == .off, !sniffTLS(payload, seq: s.sequence, side: side, at: t) {
            guard h2Candidate || h2 != nil else { return }
            guard sniffHTTP2(payload, seq: s.sequence, side: side, at: t) else { return }
        }
        let bs = streams[side]
        guard bs.mode == .active, let h2 = bytesConsumer else { return }
        var seq = s.sequence
        var p = payload
        let next = bs.next
        if seq != next {
            if seqLess(seq, next) {
                let skip = Int(next &- seq)
                guard skip < p.count else { return }  // all of it seen before
                p = UnsafeRawBufferPointer(rebasing: p[skip...])
                seq = next
            } else {
                if bs.heldBytes + p.count > ByteStream.holdLimit || holdBudget.bytes + p.count > ByteStream.totalHoldLimit {
                    bs.mode = .stopped
                    bs.release(holdBudget)
                    h2.directionLost(side: side, at: t, reason: "more than \(ByteStream.holdLimit >> 10) KiB arrived beyond a hole in the \(Connection.name(side))'s bytes at seq \(sides[side].relative(next)) (lost before the capture point, or missed by the capture)")
                    return
                }
                if s.capturedPayloadLength == s.payloadLength {
                    bs.held.append((seq, Array(p), t))
                    bs.heldBytes += p.count
                    holdBudget.bytes += p.count
                }
                return
            }
        }
        h2.feed(side: side, p, at: t)
        bs.next = seq &+ UInt32(p.count)
        if s.capturedPayloadLength < s.payloadLength {
            bs.mode = .stopped
            h2.directionLost(side: side, at: t, reason: "a segment from the \(Connection.name(side)) was cut by the capture's snapshot length (\(s.capturedPayloadLength) of \(s.payloadLength) bytes captured)")
            return
        }
        if !bs.held.isEmpty { drainHeld(side: side) }
    }

    private func drainHeld(side: Int) {
        while !streams[side].held.isEmpty, streams[side].mode == .active, let h2 = bytesConsumer {
            let next = streams[side].next
            guard let i = streams[side].held.firstIndex(where: { seqLessOrEqual($0.seq, next) }) else { return }
            let item = streams[side].held.remove(at: i)
            streams[side].heldBytes -= item.bytes.count
            holdBudget.bytes -= item.bytes.count
            let skip = Int(next &- item.seq)
            if skip < item.bytes.count {
                item.bytes.withUnsafeBytes { raw in
                    h2.feed(side: side, UnsafeRawBufferPointer(rebasing: raw[skip...]), at: item.t)
                }
                streams[side].next = item.seq &+ UInt32(item.bytes.count)
            }
        }
    }

    /// Decides whether this direction carries HTTP/2: the client preface or a first SETTINGS
    /// frame at the start of a connection seen from its SYN, `--http2-port`, or a chain of
    /// plausible frame headers mid-connection.
    func sniffHTTP2(_ p: UnsafeRawBufferPointer, seq: UInt32, side: Int, at t: Double) -> Bool {
        let fromStart = !midConnection && sides[side].isn.map { seq == $0 &+ 1 } == true
        var fromPreface = false
        if fromStart {
            if side == 0 {
                let n = min(p.count, Connection.preface.count)
                fromPreface = n >= 4 && (0..<n).allSatisfy { p[$0] == Connection.preface[$0] }
                if !fromPreface && !(h2Candidate && h2 != nil) && !forcedHTTP2 { h2Candidate = false; return false }
            } else {
                let settingsFirst = p.count >= 9 && p[3] == 4 && p[4] & 0xFE == 0 && p[5] == 0 && p[6] == 0 && p[7] == 0 && p[8] == 0
                    && (Int(p[0]) << 16 | Int(p[1]) << 8 | Int(p[2])) % 6 == 0
                if !settingsFirst && !forcedHTTP2 && h2 == nil { return false }
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
            h2 = H2Session(connection: self, fromStart: !midConnection, stallThreshold: stallThreshold)
            if side == 0 && fromPreface { clientChosenBy = clientChosenBy == "syn" ? "syn" : "preface" }
        }
        h2?.startDirection(side: side, fromConnectionStart: fromStart, at: t, syncedMidStream: !fromStart)
        streams[side].start(at: seq)
        return true
    }
}

/// Frame-shape heuristics for a capture that begins mid-connection.
enum H2Sniffer {
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
