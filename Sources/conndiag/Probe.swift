import ArgumentParser
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagOutput
import ConnDiagTCP
import FoundationEssentials
import Glibc
import ConnDiagPlatform

extension ConnDiag {
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "probe",
            abstract: "Check a set of endpoints concurrently: DNS, TCP, TLS, HTTP/2, gRPC health, idle hold.",
            discussion: """
            Every target is checked at once (--concurrency bounds it) on one event loop, per \
            resolved address: DNS records and resolution time; connect time or the failure \
            and its mechanism; with --tls the handshake, version, cipher, ALPN, certificate \
            and days to expiry (SSLKEYLOGFILE honoured); with --h2 the SETTINGS exchange and \
            PING round trips; with --grpc-health the standard health check; with --hold an \
            idle hold that shows who closes an idle connection and when (load-balancer and \
            NAT idle timeouts). Exit 0 only when every target meets every --expect.

            EXAMPLES:
              conndiag probe api:443 api2:443 --tls --hold 60s --expect ok
              conndiag probe --targets endpoints.txt --connect-timeout 1s --expect 'connect<200ms'
              conndiag probe grpc:50051 --grpc-health my.Service --expect serving
              conndiag probe edge:443 --tls --expect tls-days>=14 alpn=h2 --format ndjson
            """)

        @Argument(help: "Targets, HOST:PORT or [IPv6]:PORT.")
        var targets: [String] = []

        @Option(name: .customLong("targets"), help: "Read targets from FILE, one per line ('-' for stdin; # comments).")
        var targetsFile: String?

        @Option(name: .long, help: "Targets checked at once.")
        var concurrency: Int = 64

        @Option(name: .long, help: "Connect timeout per address.")
        var connectTimeout: DurationArgument = DurationArgument(argument: "5s")!

        @Flag(name: .long, help: "TLS handshake after connecting.")
        var tls = false

        @Option(name: .long, help: "TLS server name (SNI and verification); default: the target's host.")
        var sni: String?

        @Option(name: .long, help: "PEM file of trusted CA certificates (default: the system store).")
        var cacert: String?

        @Flag(name: .long, help: "Complete the TLS handshake even when verification fails (the failure is still reported).")
        var insecure = false

        @Flag(name: .long, help: "Speak HTTP/2 (prior knowledge without TLS); implied when ALPN picks h2, by --grpc-health and --pings.")
        var h2 = false

        @Option(name: .long, help: "PING round trips to measure over HTTP/2.")
        var pings: Int = 0

        @Option(name: .long, help: "grpc.health.v1.Health/Check for SERVICE ('' or omitted value: the server as a whole).")
        var grpcHealth: String?

        @Option(name: .long, help: "Then hold the connection idle this long and report if and when something closes it.")
        var hold: DurationArgument?

        @Flag(name: .long, help: "Repeat the hold on a new connection with TCP keepalive on, to see whether it keeps the connection open.")
        var holdKeepalive = false

        @Flag(name: .long, help: "Repeat the hold with HTTP/2 PINGs instead of TCP keepalive.")
        var holdPing = false

        @Option(name: .long, parsing: .upToNextOption, help: "Expectations for every target: ok, connect<DURATION, tls-days>=N, alpn=h2, serving, rtt<DURATION, survives-hold.")
        var expect: [String] = []

        @OptionGroup var addressFamily: AddressFamilyOptions

        @Option(name: .long, help: "Output format: table (default on a terminal), json, or ndjson (one line per finished target, then a summary).")
        var format: OutputFormat?

        @Flag(name: .long, help: "Same as --format json.")
        var json = false

        @OptionGroup(title: "Socket options") var socket: SocketOptionGroup
        @OptionGroup(title: "Network namespace") var namespace: NamespaceOptions

        func validate() throws {
            if targets.isEmpty && targetsFile == nil { throw ValidationError("give targets (HOST:PORT ...) or --targets FILE") }
            if concurrency < 1 || concurrency > 10_000 { throw ValidationError("--concurrency must be between 1 and 10000") }
            if pings < 0 || pings > 1000 { throw ValidationError("--pings must be between 0 and 1000") }
            if (sni != nil || cacert != nil || insecure) && !tls { throw ValidationError("--sni, --cacert and --insecure need --tls") }
            if (holdKeepalive || holdPing) && hold == nil { throw ValidationError("--hold-keepalive and --hold-ping need --hold") }
            if json, let f = format, f != .json { throw ValidationError("--json conflicts with --format \(f.rawValue)") }
            for t in targets {
                do { _ = try TargetSpec(parsing: t) } catch let e as ConnDiagError { throw ValidationError(e.message) }
            }
            for e in expect {
                do { _ = try ProbeExpectation(parsing: e) } catch let e as ConnDiagError { throw ValidationError(e.message) }
            }
        }

        /// Reads the targets file as the user named it (no shell), one target per line.
        func fileTargets() throws -> [TargetSpec] {
            guard let path = targetsFile else { return [] }
            let data: [UInt8]
            if path == "-" {
                switch Syscall.readToEnd(STDIN_FILENO) {
                case .value(let d): data = d
                case .error(let e): throw ConnDiagError.usage("--targets -: cannot read standard input (\(e))")
                case .wouldBlock, .interrupted: throw ConnDiagError.usage("--targets -: cannot read standard input")
                }
            } else {
                guard let d = FileManager.default.contents(atPath: path) else {
                    throw ConnDiagError.usage("--targets \(path): cannot read the file")
                }
                data = [UInt8](d)
            }
            var out: [TargetSpec] = []
            for (n, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map { String($0.trimmingWhitespace) } ?? ""
                if line.isEmpty { continue }
                do { out.append(try TargetSpec(parsing: line)) } catch let e as ConnDiagError {
                    throw ConnDiagError.usage("--targets \(path) line \(n + 1): \(e.message)")
                }
            }
            return out
        }

        func run() throws {
            InterruptSignal.shared.install()
            var config = ProbeConfig(targets: try targets.map { try TargetSpec(parsing: $0) } + fileTargets())
            config.family = addressFamily.family
            config.options = socket.socketOptions
            config.connectTimeout = connectTimeout.seconds
            config.concurrency = concurrency
            config.h2 = h2
            config.pings = pings
            config.grpcHealthService = grpcHealth
            config.hold = hold?.seconds
            config.holdKeepalive = holdKeepalive
            config.holdPing = holdPing
            config.expectations = expect.compactMap { try? ProbeExpectation(parsing: $0) }
            if tls {
                config.tlsFactory = try TLSProbeSupport.factory(sni: sni, caFile: cacert, insecure: insecure)
            }
            let writer = ReportWriter(OutputConfiguration(format: .resolved(format: format, json: json)))
            let engine = ProbeEngine(config: config)
            if writer.streamsRecords { engine.onResult = { writer.stream(.target($0)) } }
            let report = try namespace.run { try engine.run() }
            let status = writer.finish(.probe(engine.results, report: report))
            if status != .ok { throw ExitCode(status.rawValue) }
        }
    }
}
