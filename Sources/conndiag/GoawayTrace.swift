import ArgumentParser
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagOutput
import ConnDiagTCP
import Glibc
import ConnDiagPlatform

extension LabHTTP2Server: ExpressibleByArgument {}

enum GRPCCallKind: String, EnumerableFlag { case unary, serverStream, bidi }

extension ConnDiag {
    struct GoawayTrace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "goaway-trace",
            abstract: "Trace what happens to in-flight HTTP/2 streams when a server drains or drops a connection.",
            discussion: """
            conndiag opens one HTTP/2 connection (h2c, prior knowledge), starts streams and \
            records every frame both ways (SETTINGS, PING, HEADERS and trailers, DATA sizes, \
            WINDOW_UPDATE, RST_STREAM, GOAWAY) with the TCP end of the connection. The report \
            says how each stream ended — completed, reset, refused by a GOAWAY (safe to retry) \
            or killed by the connection closing — and which status grpc-go, grpc-java, grpc \
            C-core and a request-level proxy would report. It recognises the gRPC double-GOAWAY \
            drain (A9) and measures connection age and grace.

            EXAMPLES:
              conndiag goaway-trace grpc-svc:50051 --grpc /pkg.Svc/Watch --server-stream --for 3m
              conndiag goaway-trace api:8080 --path /events --streams 4 --new-stream-interval 1s
              conndiag goaway-trace --lab grpc --max-connection-age 2s --max-connection-age-grace 1s --grpc /conndiag.Lab/Watch --server-stream
              conndiag goaway-trace --lab nghttpd --keep-request-open --server-kill-after 1s
              conndiag goaway-trace --lab grpc --ping-time 1s --permit-without-stream --streams 0 --for 10s
              conndiag goaway-trace api:443 --tls --grpc /pkg.Svc/Watch --server-stream --write-pcap t.pcap --keylog t.keys
            """)

        @Argument(help: "HOST:PORT or [IPv6]:PORT. Omit with --lab.")
        var target: String?

        @Option(name: .long, help: "Request path (plain HTTP/2).")
        var path: String = "/"

        @Option(name: .long, help: "Request method (plain HTTP/2).")
        var method: String = "GET"

        @Flag(name: .long, help: "Keep each request body open (a POST upload in progress) so the stream stays open.")
        var keepRequestOpen = false

        @Option(name: .long, help: "With --keep-request-open: finish each request body this long after its stream opened.")
        var finishRequestAfter: DurationArgument?

        @Option(name: .long, help: "Send a gRPC call to /package.Service/Method instead.")
        var grpc: String?

        @Flag(help: "gRPC call kind (default --unary).")
        var callKind: GRPCCallKind = .unary

        @Option(name: .long, help: "The gRPC request message as hex (empty by default; no protobuf compiler needed).")
        var messageHex: String = ""

        @Option(name: .long, help: "Streams opened at once.")
        var streams: Int = 1

        @Option(name: .long, help: "Keep opening a new stream this often (also after a GOAWAY, to see which are refused).")
        var newStreamInterval: DurationArgument?

        @Option(name: .long, help: "Client keepalive PING this long after the last read (A8).")
        var pingTime: DurationArgument?

        @Option(name: .long, help: "PING timeout (default 20s).")
        var pingTimeout: DurationArgument?

        @Flag(name: .long, help: "Send keepalive PINGs with no open stream.")
        var permitWithoutStream = false

        @Option(name: .customLong("for"), help: "Stop after this long (default: when the connection ends, at most 10 min).")
        var duration: DurationArgument?

        @Option(name: .long, help: "Application deadline for connect().")
        var connectTimeout: DurationArgument = DurationArgument(argument: "10s")!

        @Option(name: .long, help: "Run against a lab server in a private namespace: grpc (Python grpcio), nghttpd, or nghttpx in front of nghttpd.")
        var lab: LabHTTP2Server?

        @Option(name: .long, help: "With --lab grpc: grpc.max_connection_age_ms.")
        var maxConnectionAge: DurationArgument?

        @Option(name: .long, help: "With --lab grpc: grpc.max_connection_age_grace_ms.")
        var maxConnectionAgeGrace: DurationArgument?

        @Option(name: .long, help: "With --lab: SIGKILL the server this long after the connection is up.")
        var serverKillAfter: DurationArgument?

        @Option(name: .long, help: "With --lab nghttpx: SIGKILL the upstream nghttpd this long after the connection is up (the proxy stays).")
        var upstreamKillAfter: DurationArgument?

        @Option(name: .long, help: "With --lab: ask the server to drain this long after the connection is up (SIGQUIT for nghttpx).")
        var serverDrainAfter: DurationArgument?

        @OptionGroup var addressFamily: AddressFamilyOptions

        @OptionGroup(title: "TLS") var tlsOptions: TLSConnectOptions
        @OptionGroup(title: "Socket options") var socket: SocketOptionGroup
        @OptionGroup(title: "Capture") var capture: CaptureOptions
        @OptionGroup(title: "Output") var output: OutputOptions
        @OptionGroup(title: "Network namespace") var namespace: NamespaceOptions

        func validate() throws {
            if lab != nil && target != nil { throw ValidationError("give a TARGET or --lab, not both") }
            if lab != nil && tlsOptions.tls { throw ValidationError("--tls needs a TARGET: the lab's servers speak h2c") }
            try namespace.rejectWithLab(lab != nil)
            if lab == nil && target == nil { throw ValidationError("missing TARGET (HOST:PORT), or use --lab SERVER") }
            if lab == nil && (serverKillAfter != nil || serverDrainAfter != nil || maxConnectionAge != nil || maxConnectionAgeGrace != nil) {
                throw ValidationError("--server-kill-after, --server-drain-after and --max-connection-age* need --lab")
            }
            if upstreamKillAfter != nil && lab != .nghttpx { throw ValidationError("--upstream-kill-after needs --lab nghttpx") }
            if lab != .grpc && (maxConnectionAge != nil || maxConnectionAgeGrace != nil) {
                throw ValidationError("--max-connection-age and --max-connection-age-grace need --lab grpc")
            }
            if let g = grpc, !g.hasPrefix("/") || g.dropFirst().split(separator: "/").count != 2 {
                throw ValidationError("--grpc must look like /package.Service/Method")
            }
            if grpc != nil && keepRequestOpen { throw ValidationError("--keep-request-open is for plain HTTP/2; use --bidi for gRPC") }
            if finishRequestAfter != nil && !keepRequestOpen { throw ValidationError("--finish-request-after needs --keep-request-open") }
            if streams < 0 || streams > 1000 { throw ValidationError("--streams must be between 0 and 1000") }
            if hexBytes(messageHex) == nil { throw ValidationError("--message-hex must be an even number of hex digits") }
            if let t = target {
                do { _ = try TargetSpec(parsing: t) } catch let e as ConnDiagError { throw ValidationError(e.message) }
            }
        }

        func hexBytes(_ text: String) -> [UInt8]? {
            let chars = Array(text.filter { !$0.isWhitespace })
            guard chars.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            var i = 0
            while i < chars.count {
                guard let b = UInt8(String(chars[i...i + 1]), radix: 16) else { return nil }
                out.append(b); i += 2
            }
            return out
        }

        func run() throws {
            InterruptSignal.shared.install()
            let writer = ReportWriter(output.configuration)
            let timeline = Timeline()
            writer.attach(to: timeline)
            var labInstance: Lab?
            defer { labInstance?.destroy() }
            var config = GoawayTraceConfig(target: TargetSpec(host: "lab", port: 1))
            if let server = lab {
                let l = try Lab()
                labInstance = l
                var options: [String: Int] = [:]
                if let a = maxConnectionAge { options["grpc.max_connection_age_ms"] = Int(a.seconds * 1000) }
                if let g = maxConnectionAgeGrace { options["grpc.max_connection_age_grace_ms"] = Int(g.seconds * 1000) }
                let (peer, port) = try l.startHTTP2Server(server, grpcOptions: options)
                config.target = TargetSpec(host: l.serverAddress(ipv6: addressFamily.ipv6).description, port: port)
                config.namespace = l.clientNamespace
                if let k = serverKillAfter {
                    config.actions.append(ScheduledAction(after: k.seconds, label: "the server process is killed (SIGKILL)") { peer.send(signal: SIGKILL) })
                }
                if let u = upstreamKillAfter, let upstream = l.peers.first {
                    config.actions.append(ScheduledAction(after: u.seconds, label: "the upstream server is killed (SIGKILL); the proxy stays") { upstream.send(signal: SIGKILL) })
                }
                if let d = serverDrainAfter {
                    let sig = server == .nghttpx ? SIGQUIT : SIGTERM
                    config.actions.append(ScheduledAction(after: d.seconds, label: "the server is asked to drain (\(server == .nghttpx ? "SIGQUIT" : "SIGTERM"))") { peer.send(signal: sig) })
                }
            } else {
                config.target = try TargetSpec(parsing: target!)
            }
            config.authority = config.target.host
            config.tls = tlsOptions.options(host: config.target.host)
            config.family = addressFamily.family
            config.options = socket.socketOptions
            config.connectTimeout = connectTimeout.seconds
            config.interface = capture.interface
            config.writePcap = capture.writePcap
            config.captureEnabled = !capture.noCapture
            if let g = grpc {
                switch callKind {
                case .unary: config.kind = .grpcUnary(g)
                case .serverStream: config.kind = .grpcServerStream(g)
                case .bidi: config.kind = .grpcBidi(g)
                }
            } else {
                config.kind = keepRequestOpen ? .httpUpload(path: path) : .http(method: method, path: path)
            }
            config.message = hexBytes(messageHex) ?? []
            config.streams = streams
            config.newStreamInterval = newStreamInterval?.seconds
            config.pingTime = pingTime?.seconds
            config.pingTimeout = pingTimeout?.seconds ?? 20
            config.permitWithoutStream = permitWithoutStream
            config.duration = duration?.seconds ?? 600
            config.finishRequestAfter = finishRequestAfter?.seconds
            let report = try namespace.run { try GoawayTraceEngine(config: config, timeline: timeline).run() }
            let status = writer.finish(.run(report))
            if status != .ok { throw ExitCode(status.rawValue) }
        }
    }
}
