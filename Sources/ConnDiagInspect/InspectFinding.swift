import ConnDiagCore

/// A risky setting or state on one inspected connection.
public struct InspectFinding: Sendable, Equatable {
    public enum Severity: String, Sendable, Comparable {
        case info, warning
        public static func < (a: Severity, b: Severity) -> Bool { a == .info && b == .warning }
    }
    public var severity: Severity
    /// The connection's number in the table (1-based).
    public var connection: Int
    /// A short stable name for CI (`keepalive-off-idle`, `keepidle-over-idle-timeout`, ...).
    public var code: String
    public var message: String

    public var json: JSONValue {
        .object([("severity", .string(severity.rawValue)), ("connection", .int(Int64(connection))),
                 ("code", .string(code)), ("message", .string(message))])
    }

    /// The findings for one connection. `idleTimeout`: a middlebox idle timeout the user
    /// named (--idle-timeout); `conntrack`: the namespace's nf_conntrack established timeout.
    public static func findings(for c: InspectedConnection, idleTimeout: Double?, conntrack: Int?) -> [InspectFinding] {
        var out: [InspectFinding] = []
        let s = c.socket
        func add(_ severity: Severity, _ code: String, _ message: String) {
            out.append(InspectFinding(severity: severity, connection: c.index, code: code, message: message))
        }
        guard s.state == .established else {
            if s.timer == .zeroWindowProbe { add(.warning, "zero-window", "#\(c.index) zero-window probes running: the peer stopped reading") }
            return out
        }
        let idle = s.info?.idleSeconds ?? 0
        if s.timer == .zeroWindowProbe {
            add(.warning, "zero-window", "#\(c.index) zero-window probes running (\(s.timerRetransmits) sent): the peer stopped reading")
        }
        guard let o = c.options.options else {
            if case .unknown(let why) = c.options { add(.info, "options-unknown", "#\(c.index) options \(why)") }
            return out
        }
        if !o.keepalive {
            if let t = idleTimeout {
                add(.warning, "keepalive-off-idle-timeout", "#\(c.index) keepalive is off: a middlebox dropping idle flows after \(DurationText.elapsed(t)) would cut it silently")
            } else if idle >= 300 {
                let after: String
                if case .neverWhileIdle(let w) = c.prediction.kind { after = ", ~\(DurationText.elapsed(w)) later" } else { after = "" }
                add(.warning, "keepalive-off-idle", "#\(c.index) keepalive is off on a connection idle for \(DurationText.elapsed(idle)): a vanished peer is found only by the next write\(after)")
            }
        } else {
            if let t = idleTimeout, Double(o.keepIdle) >= t {
                add(.warning, "keepidle-over-idle-timeout", "#\(c.index) KEEPIDLE \(o.keepIdle)s is not shorter than the middlebox idle timeout \(DurationText.elapsed(t)): the flow is dropped before the first probe")
            }
            if let ct = conntrack, o.keepIdle >= ct {
                add(.warning, "keepidle-over-conntrack", "#\(c.index) KEEPIDLE \(o.keepIdle)s is not shorter than nf_conntrack_tcp_timeout_established \(ct)s")
            }
        }
        if let info = s.info, info.unacked > 0, info.backoff > 0, o.userTimeoutMs == 0 {
            add(.warning, "retransmitting-without-user-timeout", "#\(c.index) retransmitting (\(info.backoff) RTO backoffs) with TCP_USER_TIMEOUT 0: the kernel keeps trying until tcp_retries2")
        }
        return out
    }
}
