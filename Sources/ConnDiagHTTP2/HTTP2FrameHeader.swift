/// The 9-byte header every HTTP/2 frame begins with (RFC 9113 §4.1). A trivial value, so
/// the per-frame paths pass it around without reference counting.
public struct HTTP2FrameHeader: Hashable, Sendable {
    /// Payload length (24 bits, padding included).
    public var length: Int
    public var type: HTTP2FrameType
    public var flags: HTTP2FrameFlags
    /// 31-bit stream identifier (the reserved bit dropped).
    public var streamID: Int32

    public init(length: Int, type: HTTP2FrameType, flags: HTTP2FrameFlags, streamID: Int32) {
        self.length = length
        self.type = type
        self.flags = flags
        self.streamID = streamID
    }

    /// Reads the header at `index`; the caller has checked that 9 bytes are there.
    @inline(__always)
    init(_ p: UnsafeRawBufferPointer, _ index: Int) {
        length = Int(p[index]) << 16 | Int(p[index + 1]) << 8 | Int(p[index + 2])
        type = HTTP2FrameType(p[index + 3])
        flags = HTTP2FrameFlags(rawValue: p[index + 4])
        streamID = Int32(bitPattern: p.readUInt32(index + 5) & 0x7fff_ffff)
    }
}
