import ConnDiagCore
import ConnDiagHTTP2

extension HTTP2Direction {
    /// Who sent a frame of the live client session: outbound frames are the client's.
    public var sender: HTTP2FrameDecoder.Side { self == .outbound ? .client : .server }

    /// The timeline's direction for a frame of the live client session.
    public var timelineDirection: Direction { self == .outbound ? .out : .in }
}
