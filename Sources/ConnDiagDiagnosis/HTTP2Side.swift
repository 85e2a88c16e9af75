import ConnDiagHTTP2

/// One end of an HTTP/2 connection: the client (opens odd streams) or the server.
public typealias HTTP2Side = HTTP2FrameDecoder.Side

extension HTTP2FrameDecoder.Side {
    /// The other end.
    public var peer: HTTP2Side { self == .client ? .server : .client }
}
