import Glibc
import ConnDiagCore
import ConnDiagTCP
import ConnDiagLab
import ConnDiagAnalyze
import ConnDiagPlatform

/// Scenario 11: the bidirectional-stream deadlock. A grpcio client and server in the lab
/// both send large messages and stop reading; conndiag captures the lab link with libpcap
/// and runs the `analyze` engine on the capture. No timer in the stack ends this connection
/// — PINGs keep being answered — so the stall detector is the only mechanism that sees it.
enum FlowControlStallScenario {
    static let port: UInt16 = 50077
    static let threshold = 2.0

    static func run(quick: Bool) throws -> ScenarioResult {
        let watch = quick ? 5.0 : 8.0
        let lab = try Lab()
        defer { lab.destroy() }
        let pcap = "/tmp/\(lab.name)-stall.pcap"
        defer { unlink(pcap) }
        try lab.startPeer(LabPeers.grpcStall(role: "serve", host: "0.0.0.0", port: port), readyPort: port)

        let capture = try NetworkNamespace.run(lab.clientNamespace) {
            try PacketCapture.openLive(interface: Lab.clientInterface, filter: "tcp port \(port)")
        }
        try capture.startWriting(to: pcap)
        let client = try lab.startClientPeer(LabPeers.grpcStall(role: "call", host: lab.serverIPv4.description, port: port))
        let clock = RunClock()
        var interrupted = false
        // The capture only has to be read (into the file) until the watch ends.
        let reactor = Reactor(clock: clock)
        reactor.registerCapture(fd: capture.selectableFD) { _ = capture.read(limit: 10_000) { _ in } }
        if reactor.run(until: watch) == .interrupted { interrupted = true }
        _ = capture.read(limit: 100_000) { _ in }
        capture.close()
        client.stop()
        if interrupted { throw ConnDiagError("interrupted", exit: .failureObserved) }

        let analysis = try AnalyzeEngine(options: AnalyzeOptions(files: [pcap], ports: [port], stallThreshold: threshold)).run()
        guard let c = analysis.connections.first(where: { $0.outcome.extra.contains { $0.0 == "diagnosis" && $0.1 == .string("flow-control-stall") } }) else {
            let seen = analysis.connections.map(\.outcome.summary).joined(separator: "; ")
            throw ConnDiagError("expected a flow-control stall in the capture; analyze found: \(seen.isEmpty ? "no connection" : seen)", exit: .failureObserved)
        }
        let since = c.outcome.extra.first { $0.0 == "stalled_since" }.flatMap { if case .double(let d) = $0.1 { return d } else { return nil } }
        let detected = since.map { $0 + threshold }
        let outcome = Outcome(status: .detected, mechanism: .flowControlStall, detectedAt: detected, summary: c.outcome.summary,
                              extra: c.outcome.extra)
        // Observed: from the connection's first packet to the moment the window had been at
        // zero for the threshold. Nothing predicts it: no kernel or HTTP/2 timer fires.
        return ScenarioResult(outcome: outcome, observed: detected.map { $0 - c.firstAt }, predicted: nil,
                              settings: "grpcio bidi, both sides send 64 KiB messages and stop reading; PING every 1 s; --stall-threshold 2s",
                              events: c.events.count)
    }
}
