/// Receives what `HTTP2FrameDecoder.feed(_:to:)` decodes, in wire order, during that call.
///
/// The two in-place cases keep the offline analyser's per-frame cost low: a DATA payload is
/// never copied (only its length matters), and a header block is handed over as a view of
/// the fed bytes so HPACK can decode it where it lies.
public protocol HTTP2FrameSink: AnyObject {
    /// Any result but `.needMoreData` (`.stopped` comes once).
    func decoded(_ result: HTTP2FrameDecoder.Result)

    /// A DATA frame, reported as soon as its header is read (its padding, if any, checked):
    /// the payload that follows is skipped.
    /// `dataLength` excludes the padding; `header.length` is what flow control counts.
    func decodedData(_ header: HTTP2FrameHeader, dataLength: Int, offset: Int)

    /// A HEADERS frame whose header block is complete (CONTINUATION fragments joined, padding
    /// and priority stripped; `header` is the HEADERS frame's). `block` is valid only during the
    /// call. The sink must decode it with `decoder.decodeHeaderBlock` during the call unless
    /// `decoder.isRepeatedHeaderBlock(block)`: the HPACK context has to see every block once.
    func decodedHeaders(_ header: HTTP2FrameHeader, priority: HTTP2PrioritySpec?, block: UnsafeRawBufferPointer,
                        offset: Int, decoder: HTTP2FrameDecoder)
}
