import ConnDiagHTTP2

/// A GOAWAY frame as seen on the wire.
public struct GoawayEvidence: Sendable, Equatable {
    public var t: Double
    public var from: HTTP2Side
    public var lastStreamID: Int32
    public var code: HTTP2ErrorCode
    /// The debug data as text (at most a few hundred bytes).
    public var debug: String

    public init(t: Double, from: HTTP2Side, lastStreamID: Int32, code: HTTP2ErrorCode, debug: String) {
        self.t = t
        self.from = from
        self.lastStreamID = lastStreamID
        self.code = code
        self.debug = debug
    }

    /// The debug data for a one-line summary: long data (some servers send kilobytes) cut.
    public var summarisedDebug: String {
        debug.count > 80 ? String(debug.prefix(80)) + "… (\(debug.utf8.count)+ bytes)" : debug
    }

    /// The first GOAWAY of a gRPC A9 drain: "no new streams soon", the real id follows.
    public var announcesDrain: Bool { lastStreamID == Int32.max }
    public var isTooManyPings: Bool { code == .enhanceYourCalm && debug.contains("too_many_pings") }
}
