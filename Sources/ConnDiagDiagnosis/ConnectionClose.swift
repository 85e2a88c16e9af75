/// How the TCP connection under the HTTP/2 session ended.
public struct ConnectionClose: Sendable, Equatable {
    public enum How: Sendable, Equatable {
        case fin
        case rst
        /// A local error (errno name), or the HTTP/2 stack giving up.
        case error(String)
    }

    public var at: Double
    /// Who ended it, when known.
    public var by: HTTP2Side?
    public var how: How

    public init(at: Double, by: HTTP2Side?, how: How) {
        self.at = at
        self.by = by
        self.how = how
    }

    /// "the server closed the connection (FIN)", "the client reset the connection", ...
    public var text: String {
        guard let by else { return "the connection closed" }
        switch how {
        case .rst: return "the \(by.rawValue) reset the connection"
        case .fin: return "the \(by.rawValue) closed the connection (FIN)"
        case .error(let e): return "the \(by.rawValue) closed the connection (\(e))"
        }
    }
}
