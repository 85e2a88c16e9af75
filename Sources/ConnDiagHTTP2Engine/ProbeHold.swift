import ConnDiagCore

/// How an idle hold of a probed connection ended: survived, or closed by the server and how.
public struct ProbeHold: Sendable, Equatable {
    public enum Close: Sendable, Equatable {
        /// read() returned EOF.
        case fin
        /// ECONNRESET.
        case rst
        /// A GOAWAY came first, then the connection ended with FIN (`thenReset` false) or an error.
        case goaway(code: String, debug: String, thenReset: Bool)
        /// Another socket error, by errno name.
        case error(String)
        /// TLS ended it: "TLS alert received: close notify", "TLS alert sent: bad record mac".
        case tls(String)

        /// "FIN", "RST", `GOAWAY NO_ERROR "max_idle" then FIN`, "ETIMEDOUT".
        public var text: String {
            switch self {
            case .fin: return "FIN"
            case .rst: return "RST"
            case .goaway(let code, let debug, let reset):
                return "GOAWAY \(code)" + (debug.isEmpty ? "" : " \"\(debug)\"") + " then " + (reset ? "RST" : "FIN")
            case .error(let name): return name
            case .tls(let what): return what
            }
        }

        public var mechanism: Mechanism {
            switch self {
            case .fin: return .peerFin
            case .rst: return .peerRst
            case .goaway: return .goaway
            case .error, .tls: return .none
            }
        }
    }

    public struct Closed: Sendable, Equatable {
        /// Seconds of idleness before the close.
        public var after: Double
        public var at: Double
        public var how: Close
    }

    public var duration: Double
    /// nil when the connection survived the hold.
    public var closed: Closed?
    /// The keepalive traffic of a repeated hold: "http2-pings" or "tcp-keepalive".
    public var keepaliveTraffic: String?

    public var survived: Bool { closed == nil }

    /// The `hold` / `hold_keepalive` object of the probe's JSON.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = []
        if let k = keepaliveTraffic { fields.append(("with", .string(k))) }
        fields.append(("duration_s", .double(duration)))
        if let c = closed {
            fields += [("closed_after_s", .double((c.after * 1000).rounded() / 1000)), ("closed_by", .string("server")),
                       ("how", .string(c.how.text)), ("closed_at", .double(round6(c.at)))]
        } else {
            fields.append(("survived", .bool(true)))
        }
        return .object(fields)
    }
}
