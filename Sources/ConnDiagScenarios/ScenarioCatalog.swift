import Glibc
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagTCP

/// The built-in scenarios of `conndiag lab`, each in a fresh lab with real peers, run by
/// the same engines as the subcommands.
public enum ScenarioCatalog {
    /// Times in a result are relative to the run's connect-start event.
    static func result(_ r: Report, predictedOnly: Bool = false, settings: String? = nil) -> ScenarioResult {
        let ref = r.allEvents.first { $0.kind == .connectStart }?.t ?? 0
        return ScenarioResult(outcome: r.outcome, observed: r.outcome.detectedAt.map { $0 - ref },
                              predicted: r.outcome.predictedAt.map { $0 - ref }, predictedOnly: predictedOnly,
                              settings: settings, events: r.allEvents.count)
    }

    static func syn(_ fault: Fault, syncnt: Int?, deadline: Double? = nil) throws -> ScenarioResult {
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.inject(fault, port: 9000)
        var c = SynTimeoutConfig(target: TargetSpec(host: lab.serverIPv4.description, port: 9000))
        c.namespace = lab.clientNamespace
        c.options.synCnt = syncnt
        c.connectTimeout = deadline
        return result(try SynTimeoutEngine(config: c).run())
    }

    static func keepalive(_ traffic: TrafficMode, cut: Double? = 1, peerClose: PeerCloseKind? = nil, duration: Double? = nil,
                          configure: (inout KeepaliveConfig) -> Void) throws -> ScenarioResult {
        let lab = try Lab()
        defer { lab.destroy() }
        var c = KeepaliveConfig(target: TargetSpec(host: "lab", port: 1))
        c.traffic = traffic
        c.duration = duration
        configure(&c)
        try lab.prepareKeepalive(&c, cutAfter: cut, peerClose: peerClose)
        return result(try KeepaliveEngine(config: c).run())
    }

    static func goaway(_ server: LabHTTP2Server, options: [String: Int] = [:], killAfter: Double? = nil, killBackend: Bool = false,
                       configure: (inout GoawayTraceConfig) -> Void) throws -> ScenarioResult {
        let lab = try Lab()
        defer { lab.destroy() }
        let (peer, port) = try lab.startHTTP2Server(server, grpcOptions: options)
        var c = GoawayTraceConfig(target: TargetSpec(host: lab.serverIPv4.description, port: port))
        c.namespace = lab.clientNamespace
        c.duration = 20
        if let k = killAfter {
            let victim = killBackend ? lab.peers.first! : peer
            c.actions.append(ScheduledAction(after: k, label: killBackend ? "the upstream server is killed" : "the server is killed") { victim.send(signal: SIGKILL) })
        }
        configure(&c)
        return result(try GoawayTraceEngine(config: c).run())
    }

    static func idleFlow(keepalive: Bool) throws -> ScenarioResult {
        let lab = try Lab()
        defer { lab.destroy() }
        try lab.idleTimeout(seconds: 3)
        var c = KeepaliveConfig(target: TargetSpec(host: "lab", port: 1))
        c.traffic = .send
        c.writeInterval = 5
        c.duration = keepalive ? 7 : 12
        c.options = keepalive ? SocketOptions(keepalive: true, keepIdle: 1, keepIntvl: 1, keepCnt: 5, userTimeoutMs: 2000)
                              : SocketOptions(userTimeoutMs: 2000)
        try lab.prepareKeepalive(&c)
        return result(try KeepaliveEngine(config: c).run())
    }

    /// A prediction with nothing run (the quick matrix, or settings too long to wait for).
    static func predictedOnly(_ mechanism: Mechanism, at seconds: Double, summary: String) -> ScenarioResult {
        ScenarioResult(outcome: Outcome(status: .detected, mechanism: mechanism, predictedAt: seconds, summary: summary),
                       observed: nil, predicted: seconds, predictedOnly: true)
    }

    public static let all: [Scenario] = [
        Scenario(id: "syn-blackhole-default", group: 1, title: "connect to a blackholed address, default tcp_syn_retries",
                 settings: "tcp_syn_retries (6)", expected: .synRetriesExhausted, tolerance: 0.5,
                 lesson: "a deleted pod's IP: nothing answers, connect() hangs about 2 minutes unless the application sets a deadline",
                 quickNote: "predicted only (the kernel takes ~131 s)", seconds: (131, 0)) { quick in
            if quick {
                let k = KernelSettings.read()
                let s = SYNSchedule(syncnt: k.tcpSynRetries, linearTimeouts: k.tcpSynLinearTimeouts ?? 0, rtoMax: k.rtoMax, hz: k.hz)
                return predictedOnly(.synRetriesExhausted, at: s.giveUpAt, summary: "ETIMEDOUT after \(s.synTimes.count) SYNs (\(s.formula))")
            }
            return try syn(.blackhole, syncnt: nil)
        },
        Scenario(id: "syn-blackhole-syncnt2", group: 1, title: "connect to a blackholed address, TCP_SYNCNT 2",
                 settings: "--syncnt 2", expected: .synRetriesExhausted, tolerance: 0.1,
                 lesson: "TCP_SYNCNT bounds the wait; kernels >= 6.7 retry linearly first (tcp_syn_linear_timeouts)", seconds: (7.2, 7.2)) { _ in
            try syn(.blackhole, syncnt: 2)
        },
        Scenario(id: "syn-blackhole-deadline", group: 1, title: "connect to a blackholed address with a 1 s deadline",
                 settings: "--connect-timeout 1s", expected: .deadline, tolerance: 0.05,
                 lesson: "an application deadline is the only way to fail fast on a silent address", seconds: (1.1, 1.1)) { _ in
            try syn(.blackhole, syncnt: nil, deadline: 1)
        },
        Scenario(id: "syn-refused", group: 2, title: "connect to a closed port", settings: "no listener", expected: .rst, tolerance: 0.05,
                 lesson: "a closed port answers RST at once: refused is fast and unambiguous", seconds: (0.2, 0.2)) { _ in
            try syn(.refuse, syncnt: 2)
        },
        Scenario(id: "syn-icmp-host-unreachable", group: 2, title: "a router answers ICMP host unreachable",
                 settings: "REJECT icmp-host-unreachable", expected: .icmp, tolerance: 0.05,
                 lesson: "ICMP errors end connect() at once with EHOSTUNREACH; firewalls that DROP instead make you wait", seconds: (0.2, 0.2)) { _ in
            try syn(.icmpHostUnreachable, syncnt: 2)
        },
        Scenario(id: "syn-icmp-port-unreachable", group: 2, title: "a firewall answers ICMP port unreachable",
                 settings: "REJECT icmp-port-unreachable", expected: .icmp, tolerance: 0.05,
                 lesson: "ICMP port unreachable is ECONNREFUSED, like an RST", seconds: (0.2, 0.2)) { _ in
            try syn(.icmpPortUnreachable, syncnt: 2)
        },
        Scenario(id: "keepalive-default", group: 3, title: "idle dead peer, default keepalive sysctls",
                 settings: "SO_KEEPALIVE, tcp_keepalive_time/intvl/probes", expected: .keepalive, tolerance: 1,
                 lesson: "with Linux defaults an idle dead peer is found after 2 h 11 min: set TCP_KEEPIDLE/INTVL/CNT",
                 quickNote: "predicted only", seconds: (0, 0)) { _ in
            let k = KernelSettings.read()
            let s = KeepaliveSchedule(idle: Double(k.tcpKeepaliveTime), interval: Double(k.tcpKeepaliveIntvl), count: k.tcpKeepaliveProbes)
            return predictedOnly(.keepalive, at: s.abortAt, summary: "ETIMEDOUT \(DurationText.format(s.abortAt)) after the last segment (\(k.tcpKeepaliveProbes) probes)")
        },
        Scenario(id: "keepalive-short", group: 3, title: "idle dead peer, KEEPIDLE 2 s, KEEPINTVL 1 s, KEEPCNT 3",
                 settings: "--keepalive --keepidle 2 --keepintvl 1 --keepcnt 3, cut at 1 s", expected: .keepalive, tolerance: 0.2,
                 lesson: "keepalive finds an idle dead peer after KEEPIDLE + KEEPINTVL x KEEPCNT", seconds: (5.5, 5.5)) { _ in
            try keepalive(.idle) { $0.options = SocketOptions(keepalive: true, keepIdle: 2, keepIntvl: 1, keepCnt: 3) }
        },
        Scenario(id: "unacked-no-user-timeout", group: 4, title: "dead peer with unacked data, no TCP_USER_TIMEOUT",
                 settings: "write every 500 ms, cut at 1 s", expected: .retransmissionLimit, tolerance: 1,
                 lesson: "keepalive does not apply to unacknowledged data; without TCP_USER_TIMEOUT the kernel retransmits for ~15 min (tcp_retries2=15)",
                 quickNote: "watched 6 s; the give-up is predicted", seconds: (960, 6.5)) { quick in
            var r = try keepalive(.send, duration: quick ? 6 : 1200) { $0.writeInterval = 0.5 }
            if r.outcome.status == .survived { r.predictedOnly = true; r.outcome.mechanism = .retransmissionLimit }
            return r
        },
        Scenario(id: "unacked-user-timeout", group: 4, title: "dead peer with unacked data, TCP_USER_TIMEOUT 3 s",
                 settings: "--user-timeout 3s, write every 500 ms, cut at 1 s", expected: .userTimeout, tolerance: 0.3,
                 lesson: "TCP_USER_TIMEOUT bounds the retransmissions: ETIMEDOUT UT after the first RTO retransmission", seconds: (5, 5)) { _ in
            try keepalive(.send) { $0.options = SocketOptions(userTimeoutMs: 3000); $0.writeInterval = 0.5 }
        },
        Scenario(id: "idle-keepalive-user-timeout", group: 4, title: "idle, keepalive 2/1/9 with TCP_USER_TIMEOUT 3.5 s",
                 settings: "--keepalive --keepidle 2 --keepintvl 1 --keepcnt 9 --user-timeout 3500ms", expected: .userTimeout, tolerance: 0.2,
                 lesson: "on an idle connection TCP_USER_TIMEOUT replaces KEEPCNT: abort at the first probe past UT", seconds: (4.5, 4.5)) { _ in
            try keepalive(.idle) { $0.options = SocketOptions(keepalive: true, keepIdle: 2, keepIntvl: 1, keepCnt: 9, userTimeoutMs: 3500) }
        },
        Scenario(id: "h2-ping-idle-stream", group: 5, title: "gRPC-style PING keepalive on an idle open stream",
                 settings: "h2c, 1 open stream, ping-time 2 s, ping-timeout 1 s, cut at 1 s", expected: .h2PingTimeout, tolerance: 0.2,
                 lesson: "on a quiet connection the PING fires ping-time after the last read and finds the dead peer ping-timeout later", seconds: (3.5, 3.5)) { _ in
            try keepalive(.h2) { c in
                var p = H2KeepalivePolicy(authority: "lab"); p.pingTime = 2; p.pingTimeout = 1
                c.h2Driver = H2PingKeepalive(policy: p)
            }
        },
        Scenario(id: "h2-busy-user-timeout", group: 5, title: "busy gRPC connection (grpc-go: TCP_USER_TIMEOUT = ping-timeout)",
                 settings: "requests every 500 ms, ping-time 4 s, ping-timeout 2 s, cut at 2 s, --grpc-client go", expected: .userTimeout, tolerance: 0.3,
                 lesson: "PINGs are timed from the last read, so a busy connection never pings; TCP_USER_TIMEOUT finds the dead peer", seconds: (5, 5)) { _ in
            try keepalive(.h2, cut: 2) { c in
                var p = H2KeepalivePolicy(authority: "lab"); p.pingTime = 4; p.pingTimeout = 2; p.requestInterval = 0.5; p.client = .go
                c.options.userTimeoutMs = 2000
                c.h2Driver = H2PingKeepalive(policy: p)
            }
        },
        Scenario(id: "grpc-max-age-grace", group: 6, title: "grpcio max-connection-age 2 s, grace 1 s, open server stream",
                 settings: "grpc.max_connection_age_ms=2000, grace 1000", expected: .goawayGraceExpired, tolerance: 0.5,
                 lesson: "a long stream dies at age + grace: C-core ends it with grpc-status 14 (UNAVAILABLE)", seconds: (4, 4)) { _ in
            var r = try goaway(.grpc, options: ["grpc.max_connection_age_ms": 2000, "grpc.max_connection_age_grace_ms": 1000]) {
                $0.kind = .grpcServerStream("/conndiag.Lab/Watch")
            }
            r.predicted = 3   // age 2 s (±10 % jitter in grpc) + grace 1 s, from the connect
            return r
        },
        Scenario(id: "grpc-max-age-no-grace", group: 6, title: "grpcio max-connection-age 2 s without grace",
                 settings: "grpc.max_connection_age_ms=2000, watched 4 s", expected: .goaway, tolerance: 0.5,
                 lesson: "without a grace period the draining connection lives as long as its longest stream", seconds: (4.5, 4.5)) { _ in
            var r = try goaway(.grpc, options: ["grpc.max_connection_age_ms": 2000]) {
                $0.kind = .grpcServerStream("/conndiag.Lab/Watch"); $0.duration = 4
            }
            r.predicted = 2   // the first GOAWAY at max-connection-age (±10 % jitter)
            return r
        },
        Scenario(id: "too-many-pings", group: 7, title: "client PINGs every second without streams",
                 settings: "ping-time 1 s, permit-without-stream, grpcio defaults", expected: .goaway, tolerance: 10,
                 lesson: "servers allow one PING per 5 min without data by default; faster PINGs earn GOAWAY ENHANCE_YOUR_CALM too_many_pings", seconds: (5, 5)) { _ in
            try goaway(.grpc) { $0.streams = 0; $0.pingTime = 1; $0.permitWithoutStream = true; $0.duration = 15 }
        },
        Scenario(id: "proxy-upstream-dies", group: 8, title: "nghttpx proxy whose upstream dies mid-stream",
                 settings: "nghttpx -> nghttpd, open upload, upstream killed at 1 s", expected: .none, tolerance: 10,
                 lesson: "a request-level proxy turns an upstream I/O error into RST_STREAM/5xx: clients see INTERNAL, not UNAVAILABLE", seconds: (2, 2)) { _ in
            let r = try goaway(.nghttpx, killAfter: 1, killBackend: true) { $0.kind = .httpUpload(path: "/"); $0.duration = 3 }
            guard r.outcome.summary.contains("INTERNAL_ERROR") else {
                throw ConnDiagError("expected the proxy to reset the stream with INTERNAL_ERROR; got: \(r.outcome.summary)", exit: .failureObserved)
            }
            return r
        },
        Scenario(id: "lb-idle-timeout", group: 9, title: "a middlebox forgets flows idle for 3 s; the client writes after 5 s",
                 settings: "conntrack idle timeout 3 s, write at 5 s, TCP_USER_TIMEOUT 2 s", expected: .userTimeout, tolerance: 0.3,
                 lesson: "a NAT or load balancer that drops idle flows silently: the next write vanishes and only a timeout finds it", seconds: (8, 8)) { _ in
            try idleFlow(keepalive: false)
        },
        Scenario(id: "lb-idle-timeout-keepalive", group: 9, title: "the same middlebox, TCP keepalive every second",
                 settings: "conntrack idle timeout 3 s, --keepalive --keepidle 1 --keepintvl 1, write at 5 s", expected: .none, tolerance: 10,
                 lesson: "keepalive probes shorter than the middlebox's idle timeout keep the flow alive", seconds: (7, 7)) { _ in
            try idleFlow(keepalive: true)
        },
        Scenario(id: "peer-fin", group: 10, title: "the peer closes with FIN", settings: "--peer-close fin", expected: .peerFin, tolerance: 0.05,
                 lesson: "a graceful close is seen at once as EOF", seconds: (1.2, 1.2)) { _ in
            try keepalive(.idle, cut: nil, peerClose: .fin, duration: 5) { _ in }
        },
        Scenario(id: "peer-rst", group: 10, title: "the peer resets (RST)", settings: "--peer-close rst", expected: .peerRst, tolerance: 0.05,
                 lesson: "an abortive close is seen at once as ECONNRESET", seconds: (1.2, 1.2)) { _ in
            try keepalive(.idle, cut: nil, peerClose: .rst, duration: 5) { _ in }
        },
        Scenario(id: "server-killed-mid-response", group: 10, title: "HTTP/2 server killed mid-stream (no GOAWAY)",
                 settings: "nghttpd, open upload, SIGKILL at 1 s", expected: .peerFin, tolerance: 0.05,
                 lesson: "a killed server closes the socket with streams open: grpc reports UNAVAILABLE, a proxy INTERNAL", seconds: (1.2, 1.2)) { _ in
            try goaway(.nghttpd, killAfter: 1) { $0.kind = .httpUpload(path: "/") }
        },
        Scenario(id: "h2-flow-control-deadlock", group: 11, title: "bidirectional gRPC stream: both sides send, neither reads",
                 settings: "grpcio bidi, 64 KiB messages both ways, nobody reads; PING every 1 s; stall threshold 2 s", expected: .flowControlStall,
                 tolerance: 10,
                 lesson: "the connection is alive (PINGs answered) yet no DATA moves: both send windows sit at zero; no timeout will ever fire, only the flow-control windows show it",
                 seconds: (9, 6)) { quick in
            try FlowControlStallScenario.run(quick: quick)
        },
    ]
}
