/// IPv6 (RFC 8200).
///
///     0 version 4 | traffic class 8 | flow label 20 | 4 payload length (2) | 6 next header
///     | 7 hop limit | 8 source (16) | 24 destination (16) | 40 extension headers, upper layer
///
/// Extension headers are walked to find the upper-layer protocol: hop-by-hop (0), routing
/// (43), destination options (60) are (len + 1) * 8 bytes, AH (51) is (len + 2) * 4, fragment
/// (44) is 8 bytes. ESP (50) and "no next header" (59) end the walk: the protocol number
/// then names them. A payload length of 0 (jumbogram, BIG TCP) means "to the end of the frame".
enum IPv6 {
    static let headerLength = 40

    static func decode(_ ctx: DecodeContext, at start: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        guard b.has(1, at: start) else { DecodeProblem.record(.truncated(layer: "ipv6"), in: &p); return }
        guard b[start] >> 4 == 6 else {
            DecodeProblem.record(.invalid(layer: "ipv6", reason: "IP version is not 6"), in: &p); return
        }
        guard b.has(headerLength, at: start) else {
            DecodeProblem.record(.truncated(layer: "ipv6"), in: &p); return
        }
        let payloadLength = Int(b.u16(start &+ 4))
        let end = payloadLength == 0 ? max(ctx.wireEnd, start &+ headerLength) : start &+ headerLength &+ payloadLength
        let walk = walkExtensionHeaders(b, next: b[start &+ 6], at: start &+ headerLength, end: end)
        p.ip = IPHeader(version: 6,
                        source: IPAddress(v6: b, at: start &+ 8),
                        destination: IPAddress(v6: b, at: start &+ 24),
                        protocolNumber: walk.next,
                        ttl: b[start &+ 7],
                        totalLength: end &- start,
                        payloadOffset: walk.offset,
                        isLaterFragment: walk.isLaterFragment,
                        isFragment: walk.isFragment)
        switch walk.status {
        case .complete: break
        case .truncated: DecodeProblem.record(.truncated(layer: "ipv6"), in: &p); return
        case .beyondPayload:
            DecodeProblem.record(.invalid(layer: "ipv6", reason: "extension header beyond payload length"), in: &p)
            return
        }
        guard !walk.isLaterFragment else { return }
        PacketDecoder.decodeTransport(ctx, protocolNumber: walk.next, at: walk.offset, end: end, into: &p)
    }

    enum WalkStatus { case complete, truncated, beyondPayload }

    struct Walk {
        /// The upper-layer protocol, or the extension header the walk stopped at.
        var next: UInt8
        /// Where `next` starts.
        var offset: Int
        var isFragment = false
        var isLaterFragment = false
        var status = WalkStatus.complete
    }

    static func isExtensionHeader(_ next: UInt8) -> Bool {
        next == IPProtocol.hopByHop || next == IPProtocol.routing || next == IPProtocol.fragment
            || next == IPProtocol.destinationOptions || next == IPProtocol.ah
    }

    /// Walks extension headers from `offset` (first header `next`). `end` is where the IPv6
    /// payload ends; a header that reaches past it is invalid, one that reaches past the
    /// captured bytes is truncated. Terminates: every header advances at least 8 bytes.
    static func walkExtensionHeaders(_ b: UnsafeRawBufferPointer, next first: UInt8, at offset: Int, end: Int) -> Walk {
        var w = Walk(next: first, offset: offset)
        while isExtensionHeader(w.next) {
            let off = w.offset
            // Fixed 8 bytes for a fragment header; others need their 2-byte prefix to be sized.
            let needed = w.next == IPProtocol.fragment ? 8 : 2
            if off &+ needed > end { w.status = .beyondPayload; return w }
            guard b.has(needed, at: off) else { w.status = .truncated; return w }
            let length: Int
            switch w.next {
            case IPProtocol.fragment:
                length = 8
                w.isFragment = true
                if b.u16(off &+ 2) & 0xFFF8 != 0 { w.isLaterFragment = true }
            case IPProtocol.ah:
                length = (Int(b[off &+ 1]) &+ 2) &* 4
            default:
                length = (Int(b[off &+ 1]) &+ 1) &* 8
            }
            if off &+ length > end { w.status = .beyondPayload; return w }
            guard b.has(length, at: off) else { w.status = .truncated; return w }
            w.next = b[off]
            w.offset = off &+ length
            if w.isLaterFragment { return w }
        }
        return w
    }
}
