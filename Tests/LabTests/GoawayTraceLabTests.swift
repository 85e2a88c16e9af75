import Testing
import Foundation
import Glibc
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagTCP

/// goaway-trace against real servers (Python grpcio, nghttpd, nghttpx) in a lab.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct GoawayTraceLabTests {
    struct Run {
        var report: Report
        var streams: [JSONValue]
        var drain: JSONValue?
        func events(_ kind: EventKind) -> [Event] { report.allEvents.filter { $0.kind == kind } }
        func extra(_ key: String) -> JSONValue? { report.outcome.extra.first { $0.0 == key }?.1 }
    }

    func trace(_ server: LabHTTP2Server, grpcOptions: [String: Int] = [:], killAfter: Double? = nil, drainAfter: Double? = nil,
               configure: (inout GoawayTraceConfig) -> Void) throws -> Run {
        try LabGate.requireGRPCIO()
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        let (peer, port) = try lab.startHTTP2Server(server, grpcOptions: grpcOptions)
        var c = GoawayTraceConfig(target: TargetSpec(host: lab.serverIPv4.description, port: port))
        c.namespace = lab.clientNamespace
        c.duration = 20
        if let k = killAfter { c.actions.append(ScheduledAction(after: k, label: "kill") { peer.send(signal: SIGKILL) }) }
        if let d = drainAfter { c.actions.append(ScheduledAction(after: d, label: "drain") { peer.send(signal: SIGQUIT) }) }
        configure(&c)
        let r = try GoawayTraceEngine(config: c).run()
        guard case .array(let streams)? = r.extras.first(where: { $0.0 == "streams" })?.1 else { throw ConnDiagError.badInput("no streams") }
        return Run(report: r, streams: streams, drain: r.extras.first { $0.0 == "drain" }?.1)
    }

    @Test func maxAgeDrainWithGraceExpiring() throws {
        let r = try trace(.grpc, grpcOptions: ["grpc.max_connection_age_ms": 2000, "grpc.max_connection_age_grace_ms": 1000]) {
            $0.kind = .grpcServerStream("/conndiag.Lab/Watch")
        }
        let goaways = r.events("goaway")
        #expect(goaways.count == 2)
        #expect(goaways.first?.field("last_stream_id") == .int(Int64(Int32.max)))
        #expect(goaways.last?.field("last_stream_id") == .int(1))
        // The PING between the two GOAWAYs, answered.
        let g0 = goaways[0].t, g1 = goaways[1].t
        #expect(r.events("ping").contains { $0.direction == .in && $0.t >= g0 && $0.t <= g1 })
        #expect(r.events("ping-ack").contains { $0.direction == .out && $0.t >= g0 && $0.t <= g1 })
        #expect(r.report.outcome.mechanism == .goawayGraceExpired)
        // Measured age ~2 s (the server adds up to ±10 % jitter), grace ~1 s.
        guard case .double(let age)? = r.extra("connection_age_s"), case .double(let grace)? = r.extra("grace_s") else {
            Issue.record("no age/grace"); return
        }
        #expect(age > 1.7 && age < 2.3, "age \(age)")
        #expect(grace > 0.8 && grace < 1.3, "grace \(grace)")
        // Stream 1 ended at grace expiry: trailers grpc-status 14, then RST_STREAM NO_ERROR, then FIN.
        let s1 = try #require(r.streams.first)
        #expect(s1["grpc_status"] == .string("UNAVAILABLE"))
        // A complete response then RST_STREAM(NO_ERROR) is a completed stream (RFC 9113 §8.1).
        #expect(s1["end"] == .string("completed"))
        #expect(s1["clients"]?["grpc-go"]?["status"] == .string("UNAVAILABLE"))
        #expect(!r.events("trailers").isEmpty)
        #expect(r.events("rst-stream").contains { $0.field("error_code") == .string("NO_ERROR") })
        #expect(r.events(.fin).contains { $0.direction == .in })
        #expect(r.drain?["double_goaway"] == .bool(true))
    }

    @Test func maxAgeWithoutGraceLeavesTheStreamOpen() throws {
        let r = try trace(.grpc, grpcOptions: ["grpc.max_connection_age_ms": 2000]) {
            $0.kind = .grpcServerStream("/conndiag.Lab/Watch")
            $0.duration = 4
        }
        #expect(r.events("goaway").count == 2)
        #expect(r.report.outcome.status == .survived)
        #expect(r.report.outcome.mechanism == .goaway)
        #expect(r.report.outcome.summary.contains("still open on a draining connection"))
        #expect(r.streams.first?["end"] == .string("open"))
    }

    @Test func unaryCallsAcrossADrainAreRefusedAfterTheGoaway() throws {
        let r = try trace(.grpc, grpcOptions: ["grpc.max_connection_age_ms": 2000, "grpc.max_connection_age_grace_ms": 1000]) {
            $0.kind = .grpcUnary("/conndiag.Lab/Unary")
            $0.streams = 0
            $0.newStreamInterval = 0.2
            $0.duration = 5
        }
        #expect(r.report.outcome.mechanism == .goaway)
        let completed = r.streams.filter { $0["end"] == .string("completed") }
        let refused = r.streams.filter { $0["end"] == .string("refused") }
        #expect(completed.count >= 5)
        #expect(!refused.isEmpty)
        #expect(completed.allSatisfy { $0["grpc_status"] == .string("OK") })
        // Refused calls were never processed: every client library retries them.
        #expect(refused.allSatisfy { $0["clients"]?["grpc-go"]?["status"] == .string("UNAVAILABLE") })
        let firstGoaway = try #require(r.events("goaway").first).t
        #expect(refused.allSatisfy { if case .double(let t)? = $0["opened_at"] { return t >= firstGoaway - 0.001 } else { return false } })
    }

    @Test func tooManyPings() throws {
        let r = try trace(.grpc) {
            $0.streams = 0
            $0.pingTime = 1
            $0.permitWithoutStream = true
            $0.duration = 15
        }
        let g = try #require(r.events("goaway").last)
        #expect(g.field("error_code") == .string("ENHANCE_YOUR_CALM"))
        #expect(g.field("debug_data") == .string("too_many_pings"))
        #expect(r.report.outcome.mechanism == .goaway)
        #expect(r.report.outcome.explanation?.contains("ping-time") == true)
        // The server counts strikes: GOAWAY comes after a handful of PINGs, not the first.
        let pings = r.events("ping").filter { $0.direction == .out }
        #expect(pings.count >= 3 && pings.count <= 5)
    }

    @Test func serverKilledMidStream() throws {
        let r = try trace(.nghttpd, killAfter: 1) {
            $0.kind = .httpUpload(path: "/")
        }
        #expect(r.events("goaway").isEmpty)
        #expect([Mechanism.peerFin, .peerRst].contains(r.report.outcome.mechanism))
        let s = try #require(r.streams.first)
        #expect(s["end"] == .string("killed"))
        #expect(s["clients"]?["grpc-go"]?["status"] == .string("UNAVAILABLE"))
        #expect(s["clients"]?["proxy"]?["status"] == .string("INTERNAL"))
    }

    @Test func proxyDrainsGracefully() throws {
        let r = try trace(.nghttpx, drainAfter: 1) {
            $0.kind = .httpUpload(path: "/")
            $0.finishRequestAfter = 2
        }
        let g = try #require(r.events("goaway").first)
        #expect(g.field("error_code") == .string("NO_ERROR"))
        #expect(r.report.outcome.mechanism == .goaway)
        #expect(r.report.outcome.status == .closed)
        #expect(r.streams.first?["end"] == .string("completed"))
        #expect(r.streams.first?["http_status"] == .int(200))
    }
}
