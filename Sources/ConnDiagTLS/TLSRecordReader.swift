/// Reads one direction's TLS records from its in-order byte stream, fed in pieces of any
/// size: a record may span pieces and a piece may hold many records. Headers are read where
/// they lie; a payload is copied only when the sink wants it and it is split across pieces.
/// Every header is checked (`TLSRecordHeader.invalidReason`): the first bad one stops the
/// reader with a reason, so non-TLS bytes, damage or a lost segment never turn into records.
public final class TLSRecordReader {
    /// The record being read, if its header is complete.
    private enum Current {
        case between
        case record(TLSRecordHeader, wanted: Bool)
        /// An SSLv2-compatible ClientHello being skipped.
        case sslv2(length: Int)
    }

    private var current = Current.between
    /// Payload bytes of `current` still to come.
    private var remaining = 0
    /// A split header's first bytes, or a wanted payload's first part.
    private var pending: [UInt8] = []
    private var atStart = true
    public private(set) var stopReason: String?
    /// Records read whole, and their bytes (headers included).
    public private(set) var records = 0
    public private(set) var bytes = 0

    public init() {}

    public var isStopped: Bool { stopReason != nil }

    /// Reads `p`, handing every record it completes to `sink`.
    public func feed(_ p: UnsafeRawBufferPointer, to sink: TLSRecordSink) {
        var off = 0
        while off < p.count, stopReason == nil {
            switch current {
            case .between:
                // A header: in place when whole, else joined from the pieces.
                if pending.isEmpty && p.count - off >= TLSRecordHeader.size {
                    begin(UnsafeRawBufferPointer(rebasing: p[off..<(off + TLSRecordHeader.size)]), sink: sink)
                    off += TLSRecordHeader.size
                } else {
                    let take = min(TLSRecordHeader.size - pending.count, p.count - off)
                    pending.append(contentsOf: p[off..<(off + take)])
                    off += take
                    if pending.count == TLSRecordHeader.size {
                        let h = pending
                        pending.removeAll(keepingCapacity: true)
                        h.withUnsafeBytes { begin($0, sink: sink) }
                    }
                }
            case .sslv2:
                let take = min(remaining, p.count - off)
                off += take
                remaining -= take
                if remaining == 0 { finishSSLv2() }
            case .record(let header, let wanted):
                let take = min(remaining, p.count - off)
                if !wanted {
                    off += take
                    remaining -= take
                    if remaining == 0 { complete(header, payload: UnsafeRawBufferPointer(start: nil, count: 0), sink: sink) }
                } else if pending.isEmpty && take == remaining {
                    complete(header, payload: UnsafeRawBufferPointer(rebasing: p[off..<(off + take)]), sink: sink)
                    off += take
                } else {
                    pending.append(contentsOf: p[off..<(off + take)])
                    off += take
                    remaining -= take
                    if remaining == 0 {
                        let payload = pending
                        pending.removeAll(keepingCapacity: true)
                        payload.withUnsafeBytes { complete(header, payload: $0, sink: sink) }
                    }
                }
            }
        }
    }

    /// Stops reading (a gap in the bytes, or the sink gave up): records may no longer be
    /// found where the reader expects them.
    public func stop(reason: String, sink: TLSRecordSink) {
        guard stopReason == nil else { return }
        stopReason = reason
        pending = []
        sink.stopped(reason: reason)
    }

    /// Bytes of a record begun but not finished (at the end of the capture: a cut record).
    public var bytesInPartialRecord: Int {
        switch current {
        case .between: return pending.count
        case .record(let h, _): return TLSRecordHeader.size + h.length - remaining
        case .sslv2(let length): return length - remaining
        }
    }

    private func begin(_ h: UnsafeRawBufferPointer, sink: TLSRecordSink) {
        if atStart, h[0] & 0x80 != 0 {
            // SSLv2 record header: 2-byte length with the top bit set, then CLIENT-HELLO (1)
            // and the highest version the client offers.
            let length = Int(h[0] & 0x7f) << 8 | Int(h[1])
            let version = TLSProtocolVersion(UInt16(h[3]) << 8 | UInt16(h[4]))
            if h[2] == 1, length >= 9, version.rawValue == 0x0002 || (version.rawValue >= 0x0300 && version.rawValue <= 0x0303) {
                atStart = false
                sink.sslv2ClientHello(version: version, length: length)
                current = .sslv2(length: length + 2)
                remaining = length + 2 - TLSRecordHeader.size
                if remaining == 0 { finishSSLv2() }
                return
            }
        }
        atStart = false
        let header = TLSRecordHeader(h)
        if let why = header.invalidReason {
            stop(reason: "not a TLS record after \(records) record\(records == 1 ? "" : "s") (\(bytes) bytes): \(why)", sink: sink)
            return
        }
        let wanted = header.length > 0 && sink.wantsPayload(of: header.type)
        current = .record(header, wanted: wanted)
        remaining = header.length
        if remaining == 0 { complete(header, payload: UnsafeRawBufferPointer(start: nil, count: 0), sink: sink) }
    }

    private func complete(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer, sink: TLSRecordSink) {
        current = .between
        remaining = 0
        records += 1
        bytes += TLSRecordHeader.size + header.length
        sink.record(header, payload: payload)
    }

    private func finishSSLv2() {
        if case .sslv2(let length) = current { records += 1; bytes += length }
        current = .between
    }
}
