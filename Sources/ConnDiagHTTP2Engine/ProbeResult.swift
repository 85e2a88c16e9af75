import ConnDiagCore

/// Everything one probe of one address found.
public struct ProbeResult: Sendable {
    public var target: TargetInfo
    public var dnsAddresses: [String] = []
    public var dnsMs: Double?
    public var dnsError: String?
    public var connectMs: Double?
    public var tls: [(String, JSONValue)]?
    public var tlsDaysLeft: Double?
    public var alpn: String?
    public var h2SettingsMs: Double?
    public var serverSettings: [(String, JSONValue)]?
    public var pingRTTs: [Double] = []
    public var health: (service: String, status: String, grpcStatus: String?)?
    public var hold: ProbeHold?
    public var holdKeepalive: ProbeHold?
    public var holdSurvived: Bool? { hold?.survived }
    public var outcome: Outcome
    public var expectations: [(ProbeExpectation, String?)] = []
    public var finishedAt: Double = 0
    /// Position in the user's target list (results finish in any order).
    public var order = 0

    public init(target: TargetInfo, outcome: Outcome) { self.target = target; self.outcome = outcome }

    public var healthy: Bool { outcome.isHealthy && expectations.allSatisfy { $0.1 == nil } }

    /// The expectations as checked, in the report's one shape.
    public var expectationChecks: [ExpectationCheck] { expectations.map { ExpectationCheck(expect: $0.0.description, why: $0.1) } }

    /// Evaluates the expectations; nil in the pair means it held.
    public mutating func check(_ list: [ProbeExpectation]) {
        expectations = list.map { e in
            switch e {
            case .ok: return (e, outcome.isHealthy ? nil : "not ok: \(outcome.summary)")
            case .connectBelow(let d):
                guard let c = connectMs else { return (e, "no connection") }
                return (e, c / 1000 < d ? nil : "connect took \(DurationText.trimmed(c)) ms")
            case .tlsDaysAtLeast(let n):
                guard let days = tlsDaysLeft else { return (e, "no TLS certificate") }
                return (e, days >= n ? nil : "certificate expires in \(DurationText.trimmed(days)) days")
            case .alpn(let a): return (e, alpn == a ? nil : "ALPN is \(alpn ?? "none")")
            case .serving:
                guard let h = health else { return (e, "no health check") }
                return (e, h.status == "SERVING" ? nil : "health is \(h.status)")
            case .rttBelow(let d):
                guard let m = pingRTTs.sorted().dropFirst(pingRTTs.count / 2).first else { return (e, "no PING round trip") }
                return (e, m < d ? nil : "median PING RTT \(DurationText.elapsed(m))")
            case .survivesHold:
                guard let s = holdSurvived else { return (e, "no hold") }
                return (e, s ? nil : "the connection was closed during the hold")
            }
        }
    }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.add("target", target.json)
        var dns = JSONObjectBuilder()
        dns.add("addresses", .array(dnsAddresses.map { .string($0) }))
        dns.add("ms", dnsMs)
        dns.add("error", dnsError)
        b.add("dns", dns.value)
        var tcp = JSONObjectBuilder()
        tcp.add("connect_ms", connectMs)
        b.add("tcp", tcp.value)
        if let t = tls { b.add("tls", .object(t)) }
        if h2SettingsMs != nil || serverSettings != nil || !pingRTTs.isEmpty {
            var h = JSONObjectBuilder()
            h.add("settings_exchange_ms", h2SettingsMs)
            if let s = serverSettings { h.add("server_settings", .object(s)) }
            if !pingRTTs.isEmpty {
                let s = pingRTTs.sorted()
                h.add("ping_rtt_ms", .object([("min", .double(ms(s.first!))), ("median", .double(ms(s[s.count / 2]))), ("max", .double(ms(s.last!))), ("count", .int(Int64(s.count)))]))
            }
            b.add("h2", h.value)
        }
        if let h = health {
            var g = JSONObjectBuilder()
            g.add("service", h.service)
            g.add("status", h.status)
            g.add("grpc_status", h.grpcStatus)
            b.add("grpc_health", g.value)
        }
        if let h = hold { b.add("hold", h.json) }
        if let h = holdKeepalive { b.add("hold_keepalive", h.json) }
        b.add("outcome", outcome.json)
        if !expectations.isEmpty {
            b.add("expectations", .array(expectationChecks.map(\.json)))
        }
        b.add("healthy", healthy)
        return b.value
    }

    func ms(_ s: Double) -> Double { (s * 1e6).rounded() / 1e3 }
}
