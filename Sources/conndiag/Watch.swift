import ArgumentParser
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagInspect
import ConnDiagOutput
import ConnDiagPlatform
import ConnDiagWatch

extension Severity: ExpressibleByArgument {}

extension ConnDiag {
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Live verdicts on the traffic of a host or a pod, as failures happen.",
            discussion: """
            conndiag captures live (libpcap) in the current network namespace \
            or the one given with --netns/--netns-pid, and runs analyze's engine on every \
            packet: the same traffic gives the same verdict live and from a file. A \
            connection's outcome is printed the moment it is known (RST, FIN, a connect given \
            up, a keepalive abort, a GOAWAY drain), and a failure under way gets one warning \
            with the kernel model's prediction — SYN retransmissions: when connect() gives up; \
            retransmissions into silence: tcp_retries2 or TCP_USER_TIMEOUT; unanswered \
            keepalive probes: the abort — and its outcome then says whether it came as \
            predicted. For connections whose local end is a socket in the watched namespace, \
            the socket's own TCP_SYNCNT, keepalive and TCP_USER_TIMEOUT are read (sock_diag \
            and pidfd_getfd, as inspect does); otherwise the namespace's sysctls, and the \
            finding says which.

            Times in findings (t, predicted_at) count from the first packet captured, as \
            analyze counts them in a file written with --write-pcap. Kernel drops (pcap_stats) \
            are counted in the status records and the summary, and a verdict on a connection \
            open while packets were dropped says so. Memory is bounded by --max-connections \
            (the longest idle connection is evicted, with a note).

            EXAMPLES:
              sudo conndiag watch --netns-pid $(pidof orders-api)
              sudo conndiag watch -i eth0 --filter 'port 5432' --format ndjson
              sudo conndiag watch --for 10m --expect none --write-pcap /tmp/w.pcap --pcap-ring 200

            EXIT CODES:
              0  the watch ended (duration, --until-first, Ctrl-C/SIGTERM) and --expect none,
                 if given, held
              1  --expect none: a finding of severity warning or critical appeared
              2  bad usage (including a bad --filter)
              3  the environment refused something (no capture permission, no namespace rights)
            """)

        @Option(name: [.customShort("i"), .long], help: "The interface to capture on, in the watched namespace (any: all of them).")
        var interface: String = "any"

        @Option(name: .long, help: "A BPF filter (tcpdump syntax); default: TCP and the ICMP errors that may quote it.")
        var filter: String?

        @Option(name: .customLong("for"), help: "Stop after this long (default: until Ctrl-C or SIGTERM).")
        var duration: DurationArgument?

        @Option(name: .long, help: "Stop after the first finding at or above this severity (warning or critical).")
        var untilFirst: Severity?

        @Option(name: .long, help: "Follow at most this many connections at once; the longest idle is evicted (noted in the summary).")
        var maxConnections: Int = 10_000

        @Option(name: .long, help: "The kernel's capture buffer in MB (more absorbs bursts without drops).")
        var bufferSize: Int = 32

        @Option(name: .long, help: "Also write the raw packets to this pcap file (for Wireshark or analyze).")
        var writePcap: String?

        @Option(name: .long, help: "With --write-pcap: keep at most this many MB, in FILE and FILE.1 taking turns (0: one growing file).")
        var pcapRing: Int = 0

        @Option(name: .long, help: "Time between status records (packets, kernel drops, connections followed).")
        var statusInterval: DurationArgument = DurationArgument(argument: "10s")!

        @Flag(name: .long, help: "libpcap's immediate mode: each packet at once (TPACKET_V2), one buffer slot per packet whatever its size; by default packets come in blocks handed over within 10 ms, which hold many more wire-sized packets.")
        var immediate = false

        @Flag(name: .long, help: "Do not read local sockets' options (sock_diag, pidfd_getfd): predictions use the namespace's sysctls.")
        var noSocketOptions = false

        @Option(name: .long, help: "Output format: table (default on a terminal), json (one document at the end) or ndjson (one record per finding and status as they happen, then a summary line).")
        var format: OutputFormat?

        @Flag(name: .long, help: "Same as --format json.")
        var json = false

        @Option(name: .long, help: "For CI: none — exit 1 when a finding of severity warning or critical appears.")
        var expect: String?

        @OptionGroup(title: "Network namespace") var namespace: NamespaceOptions

        func validate() throws {
            if json, let f = format, f != .json { throw ValidationError("--json conflicts with --format \(f.rawValue)") }
            if let e = expect, e != "none" { throw ValidationError("watch's --expect takes only 'none' (got '\(e)')") }
            if let u = untilFirst, u < .warning { throw ValidationError("--until-first takes warning or critical") }
            if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
            if !(1...2048).contains(bufferSize) { throw ValidationError("--buffer-size must be between 1 and 2048 MB") }
            if pcapRing < 0 { throw ValidationError("--pcap-ring must be 0 or more MB") }
            if pcapRing > 0 && writePcap == nil { throw ValidationError("--pcap-ring needs --write-pcap") }
            if let d = duration, d.seconds <= 0 { throw ValidationError("--for must be positive") }
            if statusInterval.seconds < 0.1 { throw ValidationError("--status-interval must be at least 100ms") }
            if interface.isEmpty { throw ValidationError("-i takes an interface name (or any)") }
        }

        func run() throws {
            var options = WatchOptions(interface: interface, filter: filter, maxConnections: maxConnections, bufferSize: bufferSize << 20,
                                       writePcap: writePcap, writePcapRingBytes: pcapRing * 1_000_000, duration: duration?.seconds,
                                       untilFirst: untilFirst, statusInterval: statusInterval.seconds, readSocketOptions: !noSocketOptions)
            options.immediate = immediate
            let resolved = OutputFormat.resolved(format: format, json: json)
            var settings: [(String, JSONValue)] = [("interface", .string(interface)), ("max_connections", .int(Int64(maxConnections))),
                                                   ("buffer_size_mb", .int(Int64(bufferSize)))]
            if let f = filter { settings.append(("filter", .string(f))) }
            if let d = duration { settings.append(("for_s", .double(d.seconds))) }
            if let u = untilFirst { settings.append(("until_first", .string(u.rawValue))) }
            if let p = writePcap { settings.append(("write_pcap", .string(p))); settings.append(("pcap_ring_mb", .int(Int64(pcapRing)))) }
            let renderer = WatchRenderer(format: resolved, color: OutputConfiguration(format: resolved).color,
                                         expectNone: expect == "none", settings: settings)
            // Not restarting system calls: poll returns at once on SIGINT/SIGTERM.
            InterruptSignal.shared.install(restartingSyscalls: false)
            var where_ = namespace.target?.description ?? "the current network namespace"
            if let pid = namespace.netnsPid { where_ += " (\(SocketOwnership.command(of: pid)))" }
            let engine = WatchEngine(options: options, namespace: where_)
            engine.onEvent = { renderer.handle($0) }
            let summary = try namespace.run { try engine.run() }
            throw ExitCode(renderer.finish(summary).rawValue)
        }
    }
}
