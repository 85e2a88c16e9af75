import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagTCP
import ConnDiagTLS
import Foundation
import Glibc
import Testing

/// `goaway-trace --tls` against a grpcio server with TLS credentials and a max connection
/// age, beside the same server's h2c port: the drain must give the same outcome, stream end
/// and client rows over TLS as over h2c; and the capture written with the key log must be
/// decrypted by `analyze --keylog` to the same verdict. A server certificate the client does
/// not trust is the `tls-verify` mechanism. Root is needed for the namespace and capture.
@Suite(.enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true", "needs root for the capture namespace"),
       .serialized)
struct GoawayTraceTLSTests {
    static let server = #"""
import sys, time, signal, threading, grpc
from concurrent import futures
def watch(req, ctx):
    n = 0
    while ctx.is_active():
        n += 1
        yield n.to_bytes(4, "big")
        time.sleep(0.2)
ident = lambda b: b
handlers = {"Watch": grpc.unary_stream_rpc_method_handler(watch, request_deserializer=ident, response_serializer=ident)}
opts = [("grpc.max_connection_age_ms", 1500), ("grpc.max_connection_age_grace_ms", 1000)]
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=opts)
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("conndiag.Lab", handlers),))
server.add_insecure_port("127.0.0.1:8444")
creds = grpc.ssl_server_credentials([(open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read())])
server.add_secure_port("127.0.0.1:8443", creds)
server.start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda s, f: stop.set())
while not stop.wait(0.2): pass
server.stop(0)
"""#

    func trace(_ lab: KeyLogLab, port: UInt16, tls: TLSOptions?, pcap: String? = nil) throws -> Report {
        var config = GoawayTraceConfig(target: TargetSpec(host: "127.0.0.1", port: port))
        config.namespace = lab.ns
        config.kind = StreamKind.grpcServerStream("/conndiag.Lab/Watch")
        config.streams = 1
        config.duration = 5
        config.tls = tls
        config.writePcap = pcap
        return try GoawayTraceEngine(config: config).run()
    }

    func firstStream(_ r: Report) -> JSONValue? {
        guard case .array(let s)? = r.extras.first(where: { $0.0 == "streams" })?.1 else { return nil }
        return s.first
    }

    @Test func drainOverTLSGivesTheSameRowsAsOverH2c() throws {
        let lab = try KeyLogLab(server: ["python3", "-c", Self.server, "KEY", "CERT"])
        defer { lab.stop() }
        for _ in 0..<100 {
            if (try? lab.run(["ip", "netns", "exec", lab.ns, "ss", "-Hltn", "sport", "=", "8444"]))?.contains("8444") == true { break }
            usleep(100_000)
        }
        let keys = lab.dir + "/gt.keys", pcap = lab.dir + "/gt.pcap"
        let overTLS = try trace(lab, port: 8443, tls: TLSOptions(serverName: "tls.cdtest", alpn: ["h2"], caFile: lab.dir + "/cert.pem", keyLogFile: keys), pcap: pcap)
        let overH2c = try trace(lab, port: 8444, tls: nil)
        #expect(overTLS.allEvents.contains { $0.kind == "tls-handshake" && $0.detail.contains("ALPN h2") })
        #expect(overH2c.outcome.mechanism == .goaway || overH2c.outcome.mechanism == .goawayGraceExpired, "\(overH2c.outcome.summary)")
        #expect(overTLS.outcome.status == overH2c.outcome.status, "\(overTLS.outcome.summary)")
        #expect(overTLS.outcome.mechanism == overH2c.outcome.mechanism, "\(overTLS.outcome.summary)")
        #expect(firstStream(overTLS)?["end"] == firstStream(overH2c)?["end"])
        #expect(firstStream(overTLS)?["clients"] == firstStream(overH2c)?["clients"])
        // The pair --write-pcap + --keylog decrypts to the same verdict.
        var o = AnalyzeOptions(files: [pcap])
        o.keyLogFiles = [keys]
        let analyzed = try AnalyzeEngine(options: o).run()
        let c = try #require(analyzed.connections.first)
        #expect(c.protocolName == "grpc")
        #expect(c.outcome.mechanism == overTLS.outcome.mechanism, "\(c.outcome.summary)")
        #expect(c.streams.first?["clients"] == firstStream(overTLS)?["clients"])
    }

    /// keepalive-test --traffic h2 --tls: PINGs over TLS, then the server's packets are
    /// dropped inside the namespace; the unanswered PING is h2-ping-timeout as over h2c, and
    /// the capture written with the key log decrypts (its PINGs both ways).
    @Test func keepalivePingTimeoutOverTLS() throws {
        let lab = try KeyLogLab()
        defer { lab.stop() }
        let keys = lab.dir + "/ka.keys", pcap = lab.dir + "/ka.pcap"
        var config = KeepaliveConfig(target: TargetSpec(host: "127.0.0.1", port: 8443))
        config.namespace = lab.ns
        config.traffic = .h2
        config.duration = 8
        config.writePcap = pcap
        config.options.userTimeoutMs = 1000
        var policy = H2KeepalivePolicy(authority: "tls.cdtest")
        policy.pingTime = 1
        policy.pingTimeout = 1
        policy.client = .core
        config.h2Driver = H2PingKeepalive(policy: policy, tls: TLSOptions(serverName: "tls.cdtest", alpn: ["h2"], caFile: lab.dir + "/cert.pem", keyLogFile: keys))
        let ns = lab.ns
        config.actions = [ScheduledAction(after: 1.5, label: "the server's packets are dropped", silencesFlow: true) {
            _ = try KeyLogLab.sh(["ip", "netns", "exec", ns, "iptables", "-I", "INPUT", "-p", "tcp", "--sport", "8443", "-j", "DROP"])
        }]
        let r = try KeepaliveEngine(config: config).run()
        #expect(r.allEvents.contains { $0.kind == "tls-handshake" && $0.detail.contains("ALPN h2") })
        #expect(r.allEvents.contains { $0.kind == "ping-ack" })
        #expect(r.outcome.mechanism == .h2PingTimeout, "\(r.outcome.summary)")
        var o = AnalyzeOptions(files: [pcap])
        o.keyLogFiles = [keys]
        let c = try #require(try AnalyzeEngine(options: o).run().connections.first)
        #expect(c.protocolName == "http2")
        // Capture comes before iptables INPUT, so the capture still holds the server's late
        // PING ACKs: analyze judges what the wire carried. The PINGs decrypt, both ways.
        let h2 = try #require(c.details.first { $0.0 == "http2" }?.1)
        #expect(h2["frames"]?["client"]?["PING"] != nil)
        #expect(h2["frames"]?["server"]?["PING"] != nil)
    }

    /// nghttpd --verify-client: without a client certificate the server's alert after the
    /// TLS 1.3 handshake is the outcome (tls-alert), not "not HTTP/2"; with --cert/--key the
    /// stream completes.
    @Test func serverThatRequiresAClientCertificate() throws {
        let lab = try KeyLogLab(server: ["nghttpd", "-V", "-a", "127.0.0.1", "-d", "WWW", "8443", "KEY", "CERT"])
        defer { lab.stop() }
        try lab.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", lab.dir + "/client.key", "-out", lab.dir + "/client.pem",
                     "-days", "2", "-subj", "/CN=client"])
        var config = GoawayTraceConfig(target: TargetSpec(host: "127.0.0.1", port: 8443))
        config.namespace = lab.ns
        config.kind = StreamKind.http(method: "GET", path: "/index.html")
        config.duration = 1
        config.captureEnabled = false
        config.tls = TLSOptions(serverName: "tls.cdtest", alpn: ["h2"], caFile: lab.dir + "/cert.pem")
        let without = try GoawayTraceEngine(config: config).run()
        #expect(without.outcome.mechanism == .tlsAlert, "\(without.outcome.summary)")
        #expect(without.outcome.summary.contains("TLS alert received"))
        config.tls?.certificateFile = lab.dir + "/client.pem"
        config.tls?.privateKeyFile = lab.dir + "/client.key"
        let with = try GoawayTraceEngine(config: config).run()
        #expect(with.outcome.status == .survived, "\(with.outcome.summary)")
        #expect(firstStream(with)?["end"] == .string("completed"))
    }

    @Test func untrustedCertificateIsTLSVerify() throws {
        let lab = try KeyLogLab()
        defer { lab.stop() }
        let r = try trace(lab, port: 8443, tls: TLSOptions(serverName: "tls.cdtest", alpn: ["h2"]))
        #expect(r.outcome.mechanism == .tlsVerify)
        #expect(r.outcome.summary.contains("self-signed certificate"))
    }
}
