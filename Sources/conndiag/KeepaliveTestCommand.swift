import ArgumentParser
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagOutput
import ConnDiagTCP
import Glibc
import ConnDiagPlatform

extension TrafficMode: ExpressibleByArgument {}

extension PeerCloseKind: ExpressibleByArgument {}

extension ConnDiag {
    struct KeepaliveTest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keepalive-test",
            abstract: "Watch an established connection and show when and how a dead or silent peer is found.",
            discussion: """
            conndiag connects, then watches the connection until the kernel, the HTTP/2 layer \
            or the peer ends it, --for passes, or you interrupt. Every keepalive probe and its \
            ACK, every retransmission with its interval, TCP_INFO counters and HTTP/2 PINGs go \
            on the timeline; the verdict names the mechanism that noticed (keepalive, \
            user-timeout, retransmission-limit, h2-ping-timeout, peer-fin, peer-rst, icmp) \
            beside what the settings and sysctls predicted.

            Against a real target conndiag only observes. To cut a flow yourself, drop it \
            inside a network namespace of your own, e.g. \
            `ip netns exec myns iptables -I INPUT -p tcp --sport 5432 -j DROP`. With --lab \
            the target is a peer in a private namespace and --cut-after/--peer-close inject \
            the fault there.

            EXAMPLES:
              conndiag keepalive-test db:5432 --keepalive --keepidle 15 --keepintvl 15 --keepcnt 5 --user-timeout 90s
              conndiag keepalive-test --lab --cut-after 1s --keepalive --keepidle 2 --keepintvl 1 --keepcnt 3
              conndiag keepalive-test --lab --traffic send --user-timeout 3s --cut-after 1s
              conndiag keepalive-test --lab --traffic send --cut-after 1s --for 10s
              conndiag keepalive-test --lab --peer-close rst --for 5s
              conndiag keepalive-test api:443 --traffic h2 --tls --grpc /pkg.Svc/Watch --ping-time 10s --ping-timeout 5s
            """)

        @Argument(help: "HOST:PORT or [IPv6]:PORT. Omit with --lab.")
        var target: String?

        @Option(name: .long, help: "What the client does after the handshake: idle, send or h2.")
        var traffic: TrafficMode = .idle

        @Option(name: .long, help: "With --traffic send: bytes per write.")
        var writeSize: Int = 64

        @Option(name: .long, help: "With --traffic send: time between writes.")
        var writeInterval: DurationArgument = DurationArgument(argument: "1s")!

        @Option(name: .customLong("for"), help: "Stop watching after this long (default: until something is detected).")
        var duration: DurationArgument?

        @Option(name: .long, help: "Application deadline for connect().")
        var connectTimeout: DurationArgument = DurationArgument(argument: "10s")!

        @Flag(name: .long, help: "Run against a peer in a private lab namespace (needs root).")
        var lab = false

        @Option(name: .long, help: "With --lab: blackhole the flow in both directions this long after the connection is up.")
        var cutAfter: DurationArgument?

        @Option(name: .long, help: "With --lab: make the peer close with fin or rst (after --peer-close-after, default 1s).")
        var peerClose: PeerCloseKind?

        @Option(name: .long, help: "With --peer-close: when the peer closes.")
        var peerCloseAfter: DurationArgument = DurationArgument(argument: "1s")!

        @OptionGroup var addressFamily: AddressFamilyOptions

        @OptionGroup(title: "HTTP/2 (--traffic h2)") var h2: H2KeepaliveOptions
        @OptionGroup(title: "TLS (--traffic h2)") var tlsOptions: TLSConnectOptions
        @OptionGroup(title: "Socket options") var socket: SocketOptionGroup
        @OptionGroup(title: "Capture") var capture: CaptureOptions
        @OptionGroup(title: "Output") var output: OutputOptions
        @OptionGroup(title: "Network namespace") var namespace: NamespaceOptions

        func validate() throws {
            if lab && target != nil { throw ValidationError("give a TARGET or --lab, not both") }
            try namespace.rejectWithLab(lab)
            if !lab && target == nil { throw ValidationError("missing TARGET (HOST:PORT), or use --lab") }
            if !lab && (cutAfter != nil || peerClose != nil) { throw ValidationError("--cut-after and --peer-close need --lab: against a real target conndiag only observes") }
            if cutAfter != nil && peerClose != nil { throw ValidationError("--cut-after and --peer-close exclude each other") }
            if writeSize < 1 || writeSize > 1 << 20 { throw ValidationError("--write-size must be between 1 and 1048576") }
            if writeInterval.seconds < 0.001 { throw ValidationError("--write-interval must be at least 1ms") }
            if traffic != .h2 && h2.isUsed { throw ValidationError("HTTP/2 options need --traffic h2") }
            if tlsOptions.tls && (traffic != .h2 || lab) { throw ValidationError("--tls needs --traffic h2 and a TARGET (the lab's peers speak h2c)") }
            if let t = target {
                do { _ = try TargetSpec(parsing: t) } catch let e as ConnDiagError { throw ValidationError(e.message) }
            }
        }

        func run() throws {
            InterruptSignal.shared.install()
            let writer = ReportWriter(output.configuration)
            let timeline = Timeline()
            writer.attach(to: timeline)
            var lab: Lab?
            defer { lab?.destroy() }
            var config = KeepaliveConfig(target: TargetSpec(host: "lab", port: 1))
            config.traffic = traffic
            if self.lab {
                let l = try Lab()
                lab = l
                try l.prepareKeepalive(&config, ipv6: addressFamily.ipv6, cutAfter: cutAfter?.seconds, peerClose: peerClose,
                                       peerCloseAfter: peerCloseAfter.seconds)
            } else {
                config.target = try TargetSpec(parsing: target!)
            }
            config.family = addressFamily.family
            config.options = socket.socketOptions
            config.traffic = traffic
            config.writeSize = writeSize
            config.writeInterval = writeInterval.seconds
            config.duration = duration?.seconds
            config.connectTimeout = connectTimeout.seconds
            config.interface = capture.interface
            config.writePcap = capture.writePcap
            config.captureEnabled = !capture.noCapture
            if traffic == .h2 {
                try h2.apply(to: &config, authority: config.target.host)
                (config.h2Driver as? H2PingKeepalive)?.tls = tlsOptions.options(host: config.target.host)
            }
            let report = try namespace.run { try KeepaliveEngine(config: config, timeline: timeline).run() }
            let status = writer.finish(.run(report))
            if status != .ok { throw ExitCode(status.rawValue) }
        }
    }
}
