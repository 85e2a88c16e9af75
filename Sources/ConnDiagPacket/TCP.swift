/// TCP (RFC 9293).
///
///     0 source port (2) | 2 destination port (2) | 4 sequence (4) | 8 acknowledgment (4)
///     | 12 data offset 4, reserved 3, NS 1 | 13 CWR ECE URG ACK PSH RST SYN FIN
///     | 14 window (2) | 16 checksum (2) | 18 urgent pointer (2) | 20 options up to offset*4
///
/// Options: EOL (0), NOP (1), MSS (2, len 4), window scale (3, len 3), SACK permitted
/// (4, len 2), SACK (5, len 2 + 8n), timestamps (8, len 10); others are skipped by length.
/// A length that is < 2, runs past the header, or does not fit a known kind stops option
/// parsing with `.invalid(layer: "tcp", reason: "bad TCP option length")`.
///
/// The segment is kept whenever the fixed 20 bytes decoded, even when the options were cut by
/// the capture (`.truncated(layer: "tcp")`) or the data offset is impossible for the IP
/// length (`.invalid`): ports and sequence numbers are still what the flow tracker needs.
enum TCP {
    static let minimumHeaderLength = 20

    static func decode(_ ctx: DecodeContext, at start: Int, end: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard start &+ minimumHeaderLength <= end else {
            DecodeProblem.record(.invalid(layer: "tcp", reason: "IP payload shorter than a TCP header"), in: &p)
            return
        }
        guard b.has(minimumHeaderLength, at: start) else {
            DecodeProblem.record(.truncated(layer: "tcp"), in: &p); return
        }
        let headerLength = Int(b[start &+ 12] >> 4) &* 4
        guard headerLength >= minimumHeaderLength else {
            DecodeProblem.record(.invalid(layer: "tcp", reason: "data offset below 5"), in: &p); return
        }
        let headerEnd = start &+ headerLength
        var segment = TCPSegment(sourcePort: b.u16(start), destinationPort: b.u16(start &+ 2),
                                 sequence: b.u32(start &+ 4), acknowledgment: b.u32(start &+ 8),
                                 flags: TCPFlags(rawValue: UInt16(b[start &+ 13])),
                                 window: b.u16(start &+ 14), headerLength: headerLength,
                                 payloadLength: 0, payloadOffset: headerEnd, capturedPayloadLength: 0)
        if headerEnd > end {
            DecodeProblem.record(.invalid(layer: "tcp", reason: "data offset beyond IP payload"), in: &p)
        } else if headerEnd > b.count {
            DecodeProblem.record(.truncated(layer: "tcp"), in: &p)
        } else {
            segment.payloadLength = end &- headerEnd
            segment.capturedPayloadLength = min(segment.payloadLength, b.count &- headerEnd)
        }
        // Options up to the header end or the captured end, whichever comes first.
        if parseOptions(b, from: start &+ minimumHeaderLength, headerEnd: min(headerEnd, end),
                        capturedEnd: min(headerEnd, b.count), into: &segment.options) == false {
            DecodeProblem.record(.invalid(layer: "tcp", reason: "bad TCP option length"), in: &p)
        }
        p.transport = .tcp(segment)
    }

    /// Returns false on a malformed option length. Stops quietly at EOL or at the captured end
    /// (the truncation is reported by the caller).
    static func parseOptions(_ b: UnsafeRawBufferPointer, from start: Int, headerEnd: Int, capturedEnd: Int,
                             into o: inout TCPOptions) -> Bool {
        var off = start
        while off < capturedEnd {
            let kind = b[off]
            if kind == 0 { return true }                    // end of option list
            if kind == 1 { off &+= 1; continue }            // no-operation
            guard off &+ 1 < headerEnd else { return false } // kind byte with no room for a length
            guard off &+ 1 < capturedEnd else { return true }
            let length = Int(b[off &+ 1])
            guard length >= 2, off &+ length <= headerEnd else { return false }
            guard off &+ length <= capturedEnd else { return true }
            switch kind {
            case 2:
                guard length == 4 else { return false }
                o.mss = b.u16(off &+ 2)
            case 3:
                guard length == 3 else { return false }
                o.windowScale = b[off &+ 2]
            case 4:
                guard length == 2 else { return false }
                o.sackPermitted = true
            case 5:
                guard length >= 10, (length &- 2) % 8 == 0 else { return false }
                o.sackBlockCount = (length &- 2) / 8
            case 8:
                guard length == 10 else { return false }
                o.timestamp = (b.u32(off &+ 2), b.u32(off &+ 6))
            default:
                break
            }
            off &+= length
        }
        return true
    }
}
