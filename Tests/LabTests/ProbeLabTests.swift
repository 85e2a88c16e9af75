import Testing
import Foundation
import Glibc
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagTCP

/// probe against real peers in a lab: nghttpd (h2c), grpcio with the health service, a
/// refused port, a blackholed port, an unknown name and an idle-closing peer.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct ProbeLabTests {
    func probe(_ lab: Lab, _ targets: [String], configure: (inout ProbeConfig) -> Void = { _ in }) throws -> (Report, [ProbeResult]) {
        var c = ProbeConfig(targets: try targets.map { try TargetSpec(parsing: $0) })
        c.namespace = lab.clientNamespace
        c.connectTimeout = 1
        configure(&c)
        let e = ProbeEngine(config: c)
        let r = try e.run()
        return (r, e.results)
    }

    @Test func healthyRefusedBlackholedAndUnknown() throws {
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        try lab.startHTTP2Server(.nghttpd)
        try lab.inject(.blackhole, port: 81)
        let s = lab.serverIPv4.description
        let (report, results) = try probe(lab, ["\(s):80", "\(s):82", "\(s):81", "nosuch.invalid:80"]) {
            $0.h2 = true
            $0.pings = 3
        }
        func result(_ port: Int, host: String = s) throws -> ProbeResult { try #require(results.first { $0.target.port == port && $0.target.host == host }) }
        let healthy = try result(80)
        #expect(healthy.outcome.status == .connected)
        #expect(healthy.h2SettingsMs != nil)
        #expect(healthy.pingRTTs.count == 3)
        #expect(healthy.serverSettings?.contains { $0.0 == "MAX_CONCURRENT_STREAMS" } == true)
        #expect(try result(82).outcome.mechanism == .rst)
        let hole = try result(81)
        #expect(hole.outcome.status == .timeout)
        #expect(hole.outcome.mechanism == .deadline)
        let dns = try result(80, host: "nosuch.invalid")
        #expect(dns.outcome.status == .error)
        #expect(dns.dnsError != nil)
        #expect(dns.outcome.summary.hasPrefix("dns:"))
        #expect(report.outcome.extra.contains { $0.0 == "targets_healthy" && $0.1 == .int(1) })
    }

    @Test func grpcHealthServingAndNotServing() throws {
        try LabGate.requireGRPCIO()
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        let (_, port) = try lab.startHTTP2Server(.grpc, serving: ["good.Service"], notServing: ["bad.Service"])
        let t = "\(lab.serverIPv4):\(port)"
        let (_, good) = try probe(lab, [t]) { $0.grpcHealthService = "good.Service"; $0.expectations = [.serving] }
        #expect(good[0].health?.status == "SERVING")
        #expect(good[0].healthy)
        let (_, bad) = try probe(lab, [t]) { $0.grpcHealthService = "bad.Service"; $0.expectations = [.serving] }
        #expect(bad[0].health?.status == "NOT_SERVING")
        #expect(!bad[0].healthy)
        #expect(bad[0].expectations.first?.1 != nil)
        let (_, unknown) = try probe(lab, [t]) { $0.grpcHealthService = "nosuch.Service" }
        #expect(unknown[0].health?.status == "SERVICE_UNKNOWN")
    }

    @Test func holdFindsAnIdleTimeoutAndWhoClosed() throws {
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        try lab.startPeer(LabPeers.idleCloser(port: 9100, idle: 1), readyPort: 9100)
        let (_, results) = try probe(lab, ["\(lab.serverIPv4):9100"]) { $0.hold = 3; $0.expectations = [.survivesHold] }
        let r = results[0]
        #expect(r.holdSurvived == false)
        #expect(r.outcome.mechanism == .peerFin)
        guard case .double(let after)? = r.hold?.json["closed_after_s"] else { Issue.record("no close time"); return }
        #expect(after > 0.8 && after < 1.5, "closed after \(after)")
        #expect(r.hold?.json["closed_by"] == .string("server"))
        #expect(r.hold?.closed?.how == .fin)
        #expect(!r.healthy)
    }

    @Test func manyTargetsStayWithinTheConcurrencyBound() throws {
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        try lab.inject(.blackhole, port: 9999)
        var targets: [String] = []
        for i in 0..<200 {
            let port = 20000 + i
            if i % 3 == 0 { try lab.inject(.listening, port: UInt16(port)) }
            targets.append("\(lab.serverIPv4):\(i % 3 == 2 ? 9999 : port)")
        }
        let start = Date()
        let (_, results) = try probe(lab, targets) { $0.concurrency = 50; $0.connectTimeout = 0.5 }
        #expect(results.count == 200)
        #expect(results.filter { $0.outcome.status == .connected }.count == 67)
        #expect(results.filter { $0.outcome.status == .refused }.count == 67)
        #expect(results.filter { $0.outcome.mechanism == .deadline }.count == 66)
        // 66 blackholed targets at 0.5 s, 50 at a time: two rounds, not 66.
        #expect(Date().timeIntervalSince(start) < 10)
    }
}
