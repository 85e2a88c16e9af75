import Testing
import Foundation
import Glibc
import ConnDiagCore
import ConnDiagLab
import ConnDiagPacket
import ConnDiagTCP

/// syn-timeout against real kernels in a two-namespace lab, one fault per port.
/// The `Timing` suites hold the millisecond assertions: `make test` runs them on their own,
/// one at a time, so a loaded machine's scheduling does not blur the kernel's timers.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct SynTimeoutLabTests {
    func run(_ fault: Fault, ipv6: Bool = false, configure: (inout SynTimeoutConfig) -> Void = { _ in }) throws -> (Report, Lab) {
        let lab = try Lab(prefix: "cdtest")
        let port: UInt16 = 9000
        try lab.inject(fault, port: port)
        var c = SynTimeoutConfig(target: TargetSpec(host: lab.serverAddress(ipv6: ipv6).description, port: port))
        c.namespace = lab.clientNamespace
        c.options.synCnt = 2
        configure(&c)
        let report = try SynTimeoutEngine(config: c).run()
        return (report, lab)
    }

    func events(_ r: Report, _ kind: EventKind) -> [Event] { r.allEvents.filter { $0.kind == kind } }

    @Test func refusedAnswersRSTAtOnce() throws {
        let (r, lab) = try run(.refuse)
        defer { lab.destroy() }
        #expect(r.outcome.status == .refused)
        #expect(r.outcome.mechanism == .rst)
        #expect(r.outcome.errno == "ECONNREFUSED")
        let rst = try #require(events(r, .rst).first)
        #expect(rst.direction == .in)
        let start = try #require(events(r, .connectStart).first)
        #expect(try #require(r.outcome.detectedAt) - start.t < 0.050)
    }

    @Test func firewallResetIsRefusedToo() throws {
        let (r, lab) = try run(.rejectReset)
        defer { lab.destroy() }
        #expect(r.outcome.status == .refused)
        #expect(r.outcome.mechanism == .rst)
    }

    @Test func icmpHostUnreachable() throws {
        let (r, lab) = try run(.icmpHostUnreachable)
        defer { lab.destroy() }
        #expect(r.outcome.status == .unreachable)
        #expect(r.outcome.mechanism == .icmp)
        #expect(r.outcome.errno == "EHOSTUNREACH")
        let icmp = try #require(events(r, .icmpUnreachable).first)
        #expect(icmp.field("icmp_type") == .int(3))
        #expect(icmp.field("icmp_code") == .int(1))
        #expect(r.outcome.extra.contains { $0.0 == "icmp_code" && $0.1 == .int(1) })
    }

    @Test func icmpPortUnreachable() throws {
        let (r, lab) = try run(.icmpPortUnreachable)
        defer { lab.destroy() }
        #expect(r.outcome.status == .refused)
        #expect(r.outcome.mechanism == .icmp)
        #expect(r.outcome.errno == "ECONNREFUSED")
        let icmp = try #require(events(r, .icmpUnreachable).first)
        #expect(icmp.field("icmp_code") == .int(3))
    }

    @Test func listeningConnects() throws {
        let (r, lab) = try run(.listening)
        defer { lab.destroy() }
        #expect(r.outcome.status == .connected)
        #expect(r.outcome.mechanism == .none)
        #expect(events(r, .synAck).count == 1)
        #expect(events(r, .syn).count == 1)
        #expect(r.outcome.extra.contains { $0.0 == "handshake_rtt_ms" })
    }

    @Test func ipv6AddressUnreachable() throws {
        let (r, lab) = try run(.icmpHostUnreachable, ipv6: true)
        defer { lab.destroy() }
        #expect(r.target?.address == "fd00:cd::2")
        #expect(r.outcome.mechanism == .icmp)
        #expect(r.outcome.errno == "EHOSTUNREACH")
        let icmp = try #require(events(r, .icmpUnreachable).first)
        #expect(icmp.field("icmp_version") == .int(6))
        #expect(icmp.field("icmp_code") == .int(3))
    }

    @Test func ipv6Refused() throws {
        let (r, lab) = try run(.refuse, ipv6: true)
        defer { lab.destroy() }
        #expect(r.outcome.status == .refused)
        #expect(r.outcome.mechanism == .rst)
        #expect(events(r, .rst).count == 1)
    }

    @Test func writesAPcapThatReadsBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cdtest-\(getpid())-syn.pcap").path
        defer { unlink(path) }
        let (r, lab) = try run(.refuse) { $0.writePcap = path }
        defer { lab.destroy() }
        #expect(r.outcome.status == .refused)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        let capture = try PacketCapture.openOffline(path: path)
        var flags: [TCPFlags] = []
        capture.read { p in
            if let tcp = PacketDecoder.decode(p.bytes, linkType: capture.linkType).tcp { flags.append(tcp.flags) }
        }
        #expect(flags.contains { $0.contains(.syn) })
        #expect(flags.contains { $0.contains(.rst) })
    }
}

@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct TimingSynLabTests {
    func run(_ fault: Fault, ipv6: Bool = false, configure: (inout SynTimeoutConfig) -> Void = { _ in }) throws -> (Report, Lab) {
        let lab = try Lab(prefix: "cdtest")
        let port: UInt16 = 9000
        try lab.inject(fault, port: port)
        var c = SynTimeoutConfig(target: TargetSpec(host: lab.serverAddress(ipv6: ipv6).description, port: port))
        c.namespace = lab.clientNamespace
        c.options.synCnt = 2
        configure(&c)
        let report = try SynTimeoutEngine(config: c).run()
        return (report, lab)
    }

    func events(_ r: Report, _ kind: EventKind) -> [Event] { r.allEvents.filter { $0.kind == kind } }

    @Test func blackholeSyncntTwoFollowsTheKernelModel() throws {
        let (r, lab) = try run(.blackhole)
        defer { lab.destroy() }
        let o = r.outcome
        #expect(o.status == .timeout)
        #expect(o.mechanism == .synRetriesExhausted)
        #expect(o.errno == "ETIMEDOUT")
        #expect(r.capture)
        let syns = r.allEvents.filter { $0.kind == .syn || $0.kind == .synRetransmit }
        let linear = r.kernel?.tcpSynLinearTimeouts ?? 0
        let schedule = SYNSchedule(syncnt: 2, linearTimeouts: linear, hz: r.kernel?.hz)
        #expect(syns.count == schedule.synTimes.count)
        // Every SYN within 100 ms of its prediction.
        for s in syns {
            guard case .double(let predicted)? = s.field("predicted_t") else { Issue.record("SYN without prediction: \(s.detail)"); continue }
            #expect(abs(s.t - predicted) < 0.100, "SYN at \(s.t) predicted \(predicted)")
        }
        // ETIMEDOUT within 100 ms of predicted_at.
        let detected = try #require(o.detectedAt), predicted = try #require(o.predictedAt)
        #expect(abs(detected - predicted) < 0.100, "detected \(detected) predicted \(predicted)")
        #expect(!events(r, .tcpInfo).isEmpty)
    }

    @Test func connectTimeoutBeatsTheKernel() throws {
        let (r, lab) = try run(.blackhole) { $0.connectTimeout = 1.0 }
        defer { lab.destroy() }
        #expect(r.outcome.status == .timeout)
        #expect(r.outcome.mechanism == .deadline)
        let start = try #require(events(r, .connectStart).first).t
        let detected = try #require(r.outcome.detectedAt)
        #expect(abs(detected - start - 1.0) < 0.050)
        #expect(events(r, .deadline).count == 1)
    }

}

@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct LabLifecycleTests {
    func namespaces() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? [] }

    @Test func destroyRemovesEverything() throws {
        let lab = try Lab(prefix: "cdtest")
        try lab.inject(.blackhole, port: 9)
        #expect(namespaces().contains(lab.clientNamespace))
        #expect(namespaces().contains(lab.serverNamespace))
        lab.destroy()
        #expect(!namespaces().contains(lab.clientNamespace))
        #expect(!namespaces().contains(lab.serverNamespace))
    }

    @Test func sweepRemovesLabsOfDeadProcesses() throws {
        // A pid that cannot be alive: beyond pid_max.
        let stale = "cdtest-99999999-1-c"
        let add = Process()
        add.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        add.arguments = ["netns", "add", stale]
        try add.run(); add.waitUntilExit()
        #expect(namespaces().contains(stale))
        let removed = Lab.sweepStale(prefix: "cdtest")
        #expect(removed.contains(stale))
        #expect(!namespaces().contains(stale))
    }

    @Test func rootNamespaceFirewallUntouched() throws {
        func rules() throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/iptables")
            p.arguments = ["-S"]
            let pipe = Pipe(); p.standardOutput = pipe
            try p.run(); p.waitUntilExit()
            return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        let before = try rules()
        let lab = try Lab(prefix: "cdtest")
        try lab.inject(.icmpHostUnreachable, port: 1)
        try lab.cut(port: 2)
        #expect(try rules() == before)
        lab.destroy()
        #expect(try rules() == before)
    }
}
