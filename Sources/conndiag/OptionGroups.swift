import ArgumentParser
import ConnDiagCore
import ConnDiagOutput
import ConnDiagPacket
import ConnDiagTCP
import ConnDiagPlatform

/// A duration typed as `250ms`, `2s`, `1m30s` or bare seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var seconds: Double
    init?(argument: String) {
        guard let s = DurationText.parse(argument) else { return nil }
        seconds = s
    }
    static var defaultCompletionKind: CompletionKind { .default }

    /// The default as the user would type it (`1s`, `250ms`, `2m30s`), for help, man pages
    /// and completions.
    var defaultValueDescription: String {
        guard seconds >= 120 else { return DurationText.format(seconds) }
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60)
        return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (s > 0 || total == 0 ? "\(s)s" : "")
    }
}

extension OutputFormat: ExpressibleByArgument {
    /// `--json` wins, then `--format`, then the default for where standard output goes.
    static func resolved(format: OutputFormat?, json: Bool) -> OutputFormat {
        json ? .json : (format ?? .defaultForStandardOutput)
    }
}

/// Output flags shared by every subcommand.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table (default on a terminal), json (default otherwise) or ndjson (one event per line as it happens, then a summary line).")
    var format: OutputFormat?

    @Flag(name: .long, help: "Same as --format json.")
    var json = false

    @Option(name: .long, parsing: .upToNextOption,
            help: "Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.")
    var expect: [String] = []

    func validate() throws { try Self.validate(format: format, json: json, expect: expect) }

    /// The writer's configuration (`validate()` has parsed every --expect already).
    var configuration: OutputConfiguration { Self.configuration(format: format, json: json, expect: expect) }

    static func validate(format: OutputFormat?, json: Bool, expect: [String]) throws {
        if json, let f = format, f != .json { throw ValidationError("--json conflicts with --format \(f.rawValue)") }
        for e in expect {
            do { _ = try OutcomeExpectation(parsing: e) } catch let e as ConnDiagError { throw ValidationError(e.message) }
        }
    }

    static func configuration(format: OutputFormat?, json: Bool, expect: [String]) -> OutputConfiguration {
        OutputConfiguration(format: .resolved(format: format, json: json),
                            expectations: expect.compactMap { try? OutcomeExpectation(parsing: $0) })
    }
}

/// `analyze`'s output flags: the same as `OutputOptions`, but its ndjson holds connections,
/// not events (a capture file has no run whose events stream), and the help says so.
struct AnalyzeOutputOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table (default on a terminal), json (default otherwise) or ndjson (one connection line per connection as soon as it is settled, then one summary line; no event lines).")
    var format: OutputFormat?

    @Flag(name: .long, help: "Same as --format json.")
    var json = false

    @Option(name: .long, parsing: .upToNextOption,
            help: "Assert the outcome for CI: ok, survives, status=STATUS, mechanism=MECHANISM, detected-within=DURATION. Exit 1 when one does not hold.")
    var expect: [String] = []

    func validate() throws { try OutputOptions.validate(format: format, json: json, expect: expect) }

    var configuration: OutputConfiguration { OutputOptions.configuration(format: format, json: json, expect: expect) }
}

/// The socket options users set in production.
struct SocketOptionGroup: ParsableArguments {
    @Option(name: .long, help: "TCP_SYNCNT: SYN retransmissions before connect() gives up (1-255).")
    var syncnt: Int?

    @Flag(name: .long, inversion: .prefixedNo, help: "SO_KEEPALIVE.")
    var keepalive: Bool?

    @Option(name: .long, help: "TCP_KEEPIDLE: idle seconds before the first keepalive probe.")
    var keepidle: DurationArgument?

    @Option(name: .long, help: "TCP_KEEPINTVL: seconds between keepalive probes.")
    var keepintvl: DurationArgument?

    @Option(name: .long, help: "TCP_KEEPCNT: unanswered probes before the connection is dropped.")
    var keepcnt: Int?

    @Option(name: .long, help: "TCP_USER_TIMEOUT, e.g. 90s or 2500ms (0 = kernel default).")
    var userTimeout: DurationArgument?

    @Flag(name: .long, help: "TCP_NODELAY.")
    var nodelay = false

    @Option(name: .long, help: "Source address, optionally with :PORT ([v6]:PORT for IPv6).")
    var source: String?

    func validate() throws {
        if let s = syncnt, !(1...255).contains(s) { throw ValidationError("--syncnt must be between 1 and 255 (got \(s))") }
        if let k = keepcnt, !(1...127).contains(k) { throw ValidationError("--keepcnt must be between 1 and 127 (got \(k))") }
        for (name, d) in [("--keepidle", keepidle), ("--keepintvl", keepintvl)] {
            if let d, d.seconds < 1 || d.seconds > 32767 { throw ValidationError("\(name) must be between 1s and 32767s") }
        }
        if let u = userTimeout, u.seconds > Double(Int32.max) / 1000 { throw ValidationError("--user-timeout is too large") }
        if let s = source { _ = try parsedSource(s) }
    }

    func parsedSource(_ text: String) throws -> (IPAddress, UInt16?) {
        if let ip = IPAddress(text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text) { return (ip, nil) }
        guard let spec = try? TargetSpec(parsing: text), let ip = IPAddress(spec.host) else {
            throw ValidationError("--source must be an address or ADDRESS:PORT (got '\(text)')")
        }
        return (ip, spec.port)
    }

    var socketOptions: SocketOptions {
        var o = SocketOptions()
        o.synCnt = syncnt
        o.keepalive = keepalive
        o.keepIdle = keepidle.map { Int($0.seconds.rounded()) }
        o.keepIntvl = keepintvl.map { Int($0.seconds.rounded()) }
        o.keepCnt = keepcnt
        o.userTimeoutMs = userTimeout.map { Int(($0.seconds * 1000).rounded()) }
        o.noDelay = nodelay ? true : nil
        if let s = source, let parsed = try? parsedSource(s) { o.source = parsed.0; o.sourcePort = parsed.1 }
        return o
    }
}

/// Capture flags shared by the live subcommands.
struct CaptureOptions: ParsableArguments {
    @Option(name: .long, help: "Capture on this interface instead of the one that routes to the target.")
    var interface: String?

    @Option(name: .long, help: "Save the captured packets to FILE (pcap, readable by tcpdump and Wireshark).")
    var writePcap: String?

    @Flag(name: .long, help: "Do not capture packets; report socket-level events only.")
    var noCapture = false
}

/// `-4` / `-6`: which address family of a target to use.
struct AddressFamilyOptions: ParsableArguments {
    @Flag(name: .customShort("4"), help: "IPv4 addresses only.")
    var ipv4 = false

    @Flag(name: .customShort("6"), help: "IPv6 addresses only.")
    var ipv6 = false

    func validate() throws {
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 exclude each other") }
    }

    var family: AddressFamilyChoice { ipv4 ? .v4 : (ipv6 ? .v6 : .any) }
}

/// `--netns NAME` / `--netns-pid PID`: run a live subcommand in another network namespace,
/// so a node's copy of conndiag diagnoses a pod or container without exec'ing into it.
struct NamespaceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Run in this named network namespace (ip netns add NAME): the socket, the capture and the kernel settings come from there. Needs CAP_SYS_ADMIN.", valueName: "name"))
    var netns: String?

    @Option(name: .long, help: ArgumentHelp("Run in the network namespace of process PID, e.g. a pod's: --netns-pid $(pgrep -f SERVICE). Needs CAP_SYS_ADMIN unless it is conndiag's own.", valueName: "pid"))
    var netnsPid: Int32?

    func validate() throws {
        if netns != nil && netnsPid != nil { throw ValidationError("--netns and --netns-pid exclude each other") }
        if let n = netns, n.isEmpty || n.contains("/") || n == "." || n == ".." { throw ValidationError("--netns takes a name from `ip netns list` (got '\(n)')") }
        if let p = netnsPid, p <= 0 { throw ValidationError("--netns-pid must be a positive process id") }
    }

    var target: NetworkNamespace.Target? {
        if let n = netns { return .named(n) }
        return netnsPid.map { .process($0) }
    }

    /// Runs the command's work with the main thread in the chosen namespace. It enters before
    /// the engine starts any thread, so every socket, capture, netlink query and
    /// /proc/sys/net read of the run (and every thread it starts) is in that namespace.
    func run<T>(_ body: () throws -> T) throws -> T {
        try NetworkNamespace.run(target, body)
    }

    /// The usage error when a run makes its own namespaces (--lab).
    func rejectWithLab(_ lab: Bool) throws {
        if lab && target != nil { throw ValidationError("--netns/--netns-pid cannot be combined with --lab (the lab makes its own namespaces)") }
    }
}
