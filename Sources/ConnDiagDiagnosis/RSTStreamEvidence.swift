import ConnDiagHTTP2

/// An RST_STREAM frame as seen on the wire.
public struct RSTStreamEvidence: Sendable, Equatable {
    public var t: Double
    public var from: HTTP2Side
    public var streamID: Int32
    public var code: HTTP2ErrorCode

    public init(t: Double, from: HTTP2Side, streamID: Int32, code: HTTP2ErrorCode) {
        self.t = t
        self.from = from
        self.streamID = streamID
        self.code = code
    }

    /// A code that says something failed (not a plain cancel, refusal or "done").
    public var isError: Bool { code != .noError && code != .cancel && code != .refusedStream }
}
