import ArgumentParser
import Glibc
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagOutput
import ConnDiagPacket
import ConnDiagTCP
import ConnDiagPlatform

extension ConnDiag {
    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Diagnose every TCP/HTTP/2 connection in a capture file, after the fact.",
            discussion: """
            conndiag reads pcap or pcapng files (libpcap's offline reader; "-" is stdin) and \
            follows every TCP connection both ways: handshake or SYN retries (compared with \
            Linux's schedule), retransmissions and backoff, keepalive probes and whether they \
            were answered, zero windows, duplicate ACKs, gaps the capture missed, and who \
            closed or reset. HTTP/2 (and gRPC) inside is decoded with HPACK when the capture \
            holds the connection from its start: PINGs with RTT, GOAWAY drains with age and \
            grace, RST_STREAM, grpc-status, per-stream ends, and flow-control stalls (a send \
            window at zero while PINGs are still answered: the peer stopped reading). Each \
            connection gets an outcome with its mechanism, as the live subcommands give.

            TLS on any port is recognised from its records (version, SNI, ALPN, alerts). With \
            --keylog (or SSLKEYLOGFILE in the environment, or a pcapng file whose Decryption \
            Secrets Block carries the keys, as `editcap --inject-secrets` writes) TLS 1.2 \
            (ECDHE with AES-GCM or ChaCha20-Poly1305) and TLS 1.3 are decrypted and the HTTP/2 \
            inside is diagnosed as h2c is; secrets that do not open a connection's records are \
            a finding, never garbage frames.

            The client is the side that sent the SYN. When the capture begins mid-connection, \
            the side whose port is given with --port/--http2-port is the server, otherwise the \
            side with the lower port number.

            EXAMPLES:
              conndiag analyze prod.pcap --port 50051
              conndiag analyze a.pcap b.pcapng --host 10.0.0.7 --format json
              tcpdump -U -w - -i eth0 port 443 | conndiag analyze - --format ndjson
              conndiag analyze dump.pcap --http2-port 8080 --timeline
              tcpdump -w tls.pcap port 443 & SSLKEYLOGFILE=keys.log curl --http2 https://api/
              conndiag analyze tls.pcap --keylog keys.log

            EXIT CODES:
              0  no connection showed a failure
              1  a failure was found (a finding of severity warning or critical)
              2  bad usage (including a bad --filter)
              4  the input is not a capture, or a record in it is damaged (the report of what
                 could be read is still printed)
            """)

        @Argument(help: "Capture files (pcap or pcapng), read in order; - for stdin.")
        var files: [String]

        @Option(name: .long, help: "A BPF filter (tcpdump syntax) applied before analysis.")
        var filter: String?

        @Option(name: .long, help: "Only connections with this port on either side (repeatable).")
        var port: [Int] = []

        @Option(name: .long, help: "Only connections with this address on either side (repeatable).")
        var host: [String] = []

        @Option(name: .long, help: "Treat connections to this server port as HTTP/2 even without a client preface (repeatable).")
        var http2Port: [Int] = []

        @Option(name: .long, help: "Track at most this many connections at once; the longest idle is evicted with a note.")
        var maxConnections: Int = 10_000

        @Option(name: .long, help: "A send window at zero with no WINDOW_UPDATE for longer than this is a flow-control stall.")
        var stallThreshold: DurationArgument = DurationArgument(argument: "5s")!

        @Option(name: .long, help: "Events kept per connection before routine ones are only counted (and at most 32 times this many routine events in the whole report).")
        var maxEvents: Int = 300

        @Option(name: .long, help: "The tcp_retries2 of the host that sent the capture's retransmissions (the capture cannot tell).")
        var retries2: Int = 15

        @Option(name: .long, help: ArgumentHelp("A TLS key log (NSS SSLKEYLOGFILE format) to decrypt TLS 1.2/1.3 connections with (repeatable; default: $SSLKEYLOGFILE when that file exists).", valueName: "file"))
        var keylog: [String] = []

        @Flag(name: .long, help: "Table format: print each connection's timeline before the summary.")
        var timeline = false

        @OptionGroup(title: "Output") var output: AnalyzeOutputOptions

        /// --keylog, else SSLKEYLOGFILE when it names a readable file (a variable left set for
        /// browsers whose file is gone is not an error here).
        var keyLogFiles: [String] {
            if !keylog.isEmpty { return keylog }
            guard let v = getenv("SSLKEYLOGFILE"), case let path = String(cString: v), !path.isEmpty, access(path, R_OK) == 0 else { return [] }
            return [path]
        }

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one capture file (or - for stdin)") }
            if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
            for p in port + http2Port where !(1...65535).contains(p) { throw ValidationError("ports must be between 1 and 65535 (got \(p))") }
            for h in host where IPAddress(h) == nil { throw ValidationError("--host must be an IPv4 or IPv6 address (got '\(h)')") }
            if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
            if maxEvents < 10 { throw ValidationError("--max-events must be at least 10") }
            if !(1...30).contains(retries2) { throw ValidationError("--retries2 must be between 1 and 30") }
        }

        func run() throws {
            var options = AnalyzeOptions(files: files, filter: filter, ports: port.map { UInt16($0) },
                                         hosts: host.compactMap { IPAddress($0) }, http2Ports: http2Port.map { UInt16($0) },
                                         maxConnections: maxConnections, stallThreshold: stallThreshold.seconds,
                                         maxEventsPerConnection: maxEvents, assumedRetries2: retries2)
            options.keyLogFiles = keyLogFiles
            // Without restarting system calls: a read blocked on a quiet pipe returns at once.
            InterruptSignal.shared.install(restartingSyscalls: false)
            let engine = AnalyzeEngine(options: options)
            engine.shouldStop = { InterruptSignal.shared.isRaised }
            let writer = ReportWriter(output.configuration)
            if writer.streamsRecords { engine.onConnection = { writer.stream(.connection($0)) } }
            let result = try engine.run()
            var settings: [(String, JSONValue)] = [("stall_threshold_s", .double(stallThreshold.seconds)),
                                                   ("max_connections", .int(Int64(maxConnections))),
                                                   ("assumed_tcp_retries2", .int(Int64(retries2)))]
            if let f = filter { settings.append(("filter", .string(f))) }
            if !options.keyLogFiles.isEmpty { settings.append(("keylog", .array(options.keyLogFiles.map { .string($0) }))) }
            if !port.isEmpty { settings.append(("ports", .array(port.map { .int(Int64($0)) }))) }
            if !host.isEmpty { settings.append(("hosts", .array(host.map { .string($0) }))) }
            if !http2Port.isEmpty { settings.append(("http2_ports", .array(http2Port.map { .int(Int64($0)) }))) }
            let report = result.report(settings: settings)
            for p in result.inputProblems { StandardOutput.note(p) }
            let status = writer.finish(.analyze(result, report: report, timelines: timeline))
            throw ExitCode(status.rawValue)
        }
    }
}
