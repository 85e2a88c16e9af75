import ArgumentParser
import ConnDiagCore
import ConnDiagInspect
import ConnDiagOutput
import ConnDiagPlatform

extension ConnDiag {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Show a running process's TCP connections: the options it set, the kernel's timers, and when a vanished peer would be found.",
            discussion: """
            conndiag reads the process's sockets from the kernel (sock_diag, in the process's \
            own network namespace), reads back the options the application set on each one \
            (pidfd_getfd: needs root or CAP_SYS_PTRACE; the duplicate is closed at once and \
            nothing is ever changed), and predicts from the namespace's sysctls what would \
            happen if the peer vanished now. Without ptrace rights the options are reported \
            as unknown and everything else still is. With --follow it keeps sampling and \
            reports every retransmission, probe, timer and state change, the connections the \
            process opens meanwhile, and each connection that dies with the mechanism beside \
            the prediction; when the process exits, how the kernel closed each one (FIN or RST). \
            --capture adds the wire: a capture inside the process's namespace, classified by \
            the same connection tracker as the other subcommands (without CAP_NET_RAW a note \
            says so and the run goes on).

            EXAMPLES:
              sudo conndiag inspect --pid $(pidof orders-api)
              sudo conndiag inspect --pid 4121 --remote 10.1.7.7:50051 --expect keepalive=on dead-within=60s
              sudo conndiag inspect --all --state established --idle-timeout 350s
              sudo conndiag inspect --pid 4121 --follow --for 5m --format ndjson
              sudo conndiag inspect --pid 4121 --follow --capture --port 50051

            EXIT CODES:
              0  inspected; no warning finding, no connection died, every --expect held
              1  a warning finding, a connection died while followed, or an --expect did not hold
              2  bad usage, or no such process
              3  the environment refused (no rights to the process's fds or namespace, no sock_diag)
              4  the kernel's sock_diag answer did not parse
            """)

        @Option(name: .long, help: "The process whose TCP sockets to inspect.")
        var pid: Int32?

        @Flag(name: .long, help: "Every TCP socket of the namespace (of --pid's, --netns's or --netns-pid's namespace when given), each with its owner where found.")
        var all = false

        @Option(name: .long, help: "Only connections with this local or remote port.")
        var port: UInt16?

        @Option(name: .long, help: "Only connections to ADDRESS:PORT ([v6]:PORT for IPv6).")
        var remote: String?

        @Option(name: .long, help: "Only these states, comma-separated (established,syn-sent,close-wait,...).")
        var state: String?

        @Option(name: .long, help: "A middlebox's idle timeout (NAT, load balancer) to check KEEPIDLE against.")
        var idleTimeout: DurationArgument?

        @Flag(name: .long, help: "Keep watching: events on every change, an outcome for each connection that dies.")
        var follow = false

        @Option(name: .long, help: "With --follow: time between samples.")
        var interval: DurationArgument = DurationArgument(argument: "100ms")!

        @Option(name: .customLong("for"), help: "With --follow: stop after this long (default: until the process exits or Ctrl-C; with --all, until every followed connection is gone).")
        var duration: DurationArgument?

        @Flag(name: .long, help: "With --follow: capture the followed connections' packets in their namespace (needs CAP_NET_RAW) and put retransmissions, probes, FIN/RST and ICMP errors on the same timeline.")
        var capture = false

        @Option(name: .long, help: "With --follow: follow at most this many connections, those found at the start and those opened later (a note says when the cap is hit).")
        var maxConnections: Int = 10_000

        @Option(name: .long, help: "Output format: table (default on a terminal), json (default otherwise) or ndjson (events as they happen, then a summary line).")
        var format: OutputFormat?

        @Flag(name: .long, help: "Same as --format json.")
        var json = false

        @Option(name: .long, parsing: .upToNextOption,
                help: "Assert for every matched connection: keepalive=on|off, user-timeout=D, keepidle<=D, dead-within=D, mechanism=M. Exit 1 when one does not hold.")
        var expect: [String] = []

        @OptionGroup(title: "Network namespace") var namespace: NamespaceOptions

        func validate() throws {
            if pid == nil && !all && namespace.target == nil { throw ValidationError("give --pid PID, --all, or --netns/--netns-pid") }
            // --pid already works in that process's namespace; the options choose one for --all.
            if pid != nil && namespace.target != nil { throw ValidationError("--pid inspects in its process's own namespace; --netns/--netns-pid go without --pid") }
            if let p = pid, p <= 0 { throw ValidationError("--pid must be a positive process id") }
            if (interval.seconds < 0.001 || interval.seconds > 3600) { throw ValidationError("--interval must be between 1ms and 1h") }
            if !follow && duration != nil { throw ValidationError("--for needs --follow") }
            if !follow && capture { throw ValidationError("--capture needs --follow") }
            if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
            if json, let f = format, f != .json { throw ValidationError("--json conflicts with --format \(f.rawValue)") }
            if let r = remote, InspectConfig.parseRemote(r) == nil { throw ValidationError("--remote must be ADDRESS:PORT or [v6]:PORT (got '\(r)')") }
            if let s = state, InspectConfig.parseStates(s) == nil { throw ValidationError("--state: unknown state in '\(s)'") }
            for e in expect {
                do { _ = try InspectExpectation(parsing: e) } catch let e as ConnDiagError { throw ValidationError(e.message) }
            }
        }

        func run() throws {
            InterruptSignal.shared.install()
            let output = OutputConfiguration(format: .resolved(format: format, json: json))
            let writer = ReportWriter(output)
            let timeline = Timeline()
            writer.attach(to: timeline)
            var config = InspectConfig(scope: all || pid == nil ? .all(namespaceOf: pid) : .process(pid!))
            config.localPort = port
            if let r = remote.flatMap(InspectConfig.parseRemote) { config.remoteAddress = r.address; config.remotePort = r.port }
            config.states = state.flatMap(InspectConfig.parseStates)
            config.idleTimeout = idleTimeout?.seconds
            config.follow = follow
            config.interval = interval.seconds
            config.duration = duration?.seconds
            config.capture = capture
            config.maxFollowed = maxConnections
            let result = try namespace.run { try InspectEngine(config: config, timeline: timeline, interrupt: InterruptSignal.shared).run() }
            let expectations = expect.compactMap { try? InspectExpectation(parsing: $0) }
            let status = writer.finish(.inspect(result, report: result.report(timeline: timeline), expectations: expectations))
            if status != .ok { throw ExitCode(status.rawValue) }
        }
    }
}
