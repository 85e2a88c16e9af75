import ArgumentParser
import ConnDiagCore
import ConnDiagLab
import ConnDiagOutput
import ConnDiagTCP
import ConnDiagPlatform

extension Fault: ExpressibleByArgument {}

extension ConnDiag {
    struct SynTimeout: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "syn-timeout",
            abstract: "Connect and show every SYN, how the attempt ended, and when the kernel said it would.",
            discussion: """
            For every address TARGET resolves to, conndiag connects (once, or --repeat times) \
            with the given socket options, captures the handshake, and reports each SYN with \
            its predicted time, then the outcome: connected (SYN-ACK, handshake RTT), refused \
            (RST), unreachable (ICMP type/code and errno), timeout (SYN retries exhausted, \
            ETIMEDOUT) or deadline (--connect-timeout fired first).

            EXAMPLES:
              conndiag syn-timeout 10.0.0.7:443 --syncnt 2
              conndiag syn-timeout '[::1]:8080' --connect-timeout 1s --format json
              conndiag syn-timeout db.internal:5432 -4 --repeat 3 --write-pcap syn.pcap
              conndiag syn-timeout --lab          # blackholed, refused, ICMP-unreachable and listening lab targets
            """)

        @Argument(help: "HOST:PORT or [IPv6]:PORT. Omit with --lab.")
        var target: String?

        @Option(name: .long, help: "Application deadline for connect(), e.g. 1s or 500ms.")
        var connectTimeout: DurationArgument?

        @Option(name: .long, help: "Connect this many times to each address.")
        var `repeat`: Int = 1

        @OptionGroup var addressFamily: AddressFamilyOptions

        @Flag(name: .long, help: "Run against the built-in lab targets in a private network namespace (needs root). Defaults to --syncnt 2.")
        var lab = false

        @Option(name: .long, help: "With --lab, only these targets: \(Fault.allCases.map(\.rawValue).joined(separator: ", ")).")
        var labFault: [Fault] = []

        @OptionGroup(title: "Socket options") var socket: SocketOptionGroup
        @OptionGroup(title: "Capture") var capture: CaptureOptions
        @OptionGroup(title: "Output") var output: OutputOptions
        @OptionGroup(title: "Network namespace") var namespace: NamespaceOptions

        func validate() throws {
            if lab && target != nil { throw ValidationError("give a TARGET or --lab, not both") }
            try namespace.rejectWithLab(lab)
            if !lab && target == nil { throw ValidationError("missing TARGET (HOST:PORT), or use --lab for the built-in targets") }
            if !lab && !labFault.isEmpty { throw ValidationError("--lab-fault needs --lab") }
            if let c = connectTimeout, c.seconds <= 0 { throw ValidationError("--connect-timeout must be more than 0") }
            if `repeat` < 1 || `repeat` > 1000 { throw ValidationError("--repeat must be between 1 and 1000") }
            if let t = target {
                do { _ = try TargetSpec(parsing: t) } catch let e as ConnDiagError { throw ValidationError(e.message) }
            }
        }

        func baseConfig(_ spec: TargetSpec) -> SynTimeoutConfig {
            var c = SynTimeoutConfig(target: spec)
            c.family = addressFamily.family
            c.options = socket.socketOptions
            c.connectTimeout = connectTimeout?.seconds
            c.repeatCount = `repeat`
            c.interface = capture.interface
            c.writePcap = capture.writePcap
            c.captureEnabled = !capture.noCapture
            return c
        }

        func run() throws {
            InterruptSignal.shared.install()
            let writer = ReportWriter(output.configuration)
            let timeline = Timeline()
            writer.attach(to: timeline)
            let report = lab ? try runLab(timeline) : try namespace.run { try SynTimeoutEngine(config: baseConfig(try TargetSpec(parsing: target!)), timeline: timeline).run() }
            let status = writer.finish(.run(report))
            if status != .ok { throw ExitCode(status.rawValue) }
        }

        /// Lab ports: one per fault, so every target lives on the same server address.
        static func labPort(_ f: Fault) -> UInt16 { 8080 + UInt16(Fault.allCases.firstIndex(of: f)!) }

        /// The outcome each lab target must produce; the lab run passes when all match.
        static func expectedStatus(_ f: Fault) -> OutcomeStatus {
            switch f {
            case .listening: return .connected
            case .blackhole: return .timeout
            case .refuse, .rejectReset, .icmpPortUnreachable: return .refused
            case .icmpHostUnreachable: return .unreachable
            }
        }

        func runLab(_ timeline: Timeline) throws -> Report {
            let faults = labFault.isEmpty ? [Fault.listening, .refuse, .blackhole, .icmpHostUnreachable, .icmpPortUnreachable] : labFault
            var attempts: [AttemptReport] = []
            var last: Report?
            var mismatches: [String] = []
            var labInfo: [(String, JSONValue)] = []
            do {
                let lab = try Lab()
                defer { lab.destroy() }
                labInfo = [("client_namespace", .string(lab.clientNamespace)), ("server_namespace", .string(lab.serverNamespace))]
                for f in faults { try lab.inject(f, port: Self.labPort(f)) }
                for f in faults {
                    if InterruptSignal.shared.isRaised { break }
                    var c = baseConfig(TargetSpec(host: lab.serverAddress(ipv6: addressFamily.ipv6).description, port: Self.labPort(f)))
                    c.namespace = lab.clientNamespace
                    c.label = f.rawValue
                    if c.options.synCnt == nil { c.options.synCnt = 2 }
                    if c.writePcap != nil && f != faults.first { c.writePcap = nil }
                    // Each lab target is its own run with its own clock, so its times start at 0.
                    let own = Timeline()
                    own.observer = timeline.observer
                    let r = try SynTimeoutEngine(config: c, timeline: own).run()
                    for var a in r.attempts {
                        a.index = attempts.count + 1
                        a.label = f.rawValue
                        if a.outcome.status != Self.expectedStatus(f) && !r.interrupted {
                            mismatches.append("\(f.rawValue): expected \(Self.expectedStatus(f).rawValue), got \(a.outcome.status.rawValue)")
                        }
                        attempts.append(a)
                    }
                    last = r
                    if r.interrupted { break }
                }
            } catch where InterruptSignal.shared.isRaised {
                // A Ctrl-C on a terminal also reaches the `ip` children building the lab; the
                // report still says what finished.
            }
            let interrupted = InterruptSignal.shared.isRaised || (last?.interrupted ?? false)
            let outcome: Outcome
            if attempts.isEmpty {
                outcome = Outcome(status: .error, mechanism: .none, summary: "interrupted before the first lab target ran")
            } else if mismatches.isEmpty {
                outcome = Outcome(status: interrupted ? .error : .survived, mechanism: .none,
                                  summary: (interrupted ? "interrupted; the finished lab targets" : "every lab target") + " behaved as the kernel model predicts (\(attempts.count) targets)")
            } else {
                outcome = Outcome(status: .error, mechanism: .none, summary: "lab targets that did not behave as predicted: " + mismatches.joined(separator: "; "))
            }
            // The lab run is healthy when each target did what its fault predicts.
            return Report(command: "syn-timeout", target: nil, settings: last?.settings ?? [], kernel: last?.kernel,
                          capture: last?.capture ?? false, captureNote: last?.captureNote, attempts: attempts,
                          outcome: outcome, interrupted: interrupted, extras: [("lab", .object(labInfo))])
        }
    }
}
