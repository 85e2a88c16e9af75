import Testing
@testable import ConnDiagWatch
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagPacket
import ConnDiagInspect

/// The judgments of failures under way, on packets crafted here (no root): the warning's
/// prediction from the kernel model, when the outcome counts as decided, and the wording of
/// the outcome beside the prediction.
@Suite struct FailureJudgeTests {
    /// IPv4 + TCP, 40 bytes, no options (LINKTYPE_RAW).
    static func segment(from src: (UInt32, UInt16), to dst: (UInt32, UInt16), seq: UInt32, ack: UInt32, flags: UInt8, payload: Int = 0) -> [UInt8] {
        var b = [UInt8]()
        func u16(_ v: UInt16) { b += [UInt8(v >> 8), UInt8(v & 0xff)] }
        func u32(_ v: UInt32) { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        b += [0x45, 0]; u16(UInt16(40 + payload)); u16(0); u16(0x4000); b += [64, 6]; u16(0)
        u32(src.0); u32(dst.0)
        u16(src.1); u16(dst.1); u32(seq); u32(ack); b += [0x50, flags]; u16(65535); u16(0); u16(0)
        b += [UInt8](repeating: 0x61, count: payload)
        return b
    }

    static let client: (UInt32, UInt16) = (0x0a00_0001, 40000)
    static let server: (UInt32, UInt16) = (0x0a00_0002, 9)
    static let syn: UInt8 = 0x02, ack: UInt8 = 0x10, psh: UInt8 = 0x08

    func feed(_ engine: AnalyzeEngine, _ bytes: [UInt8], at t: Double) {
        bytes.withUnsafeBytes { engine.feed($0, linkType: .raw, timestampNanos: 1_000_000_000_000 + Int64(t * 1e9)) }
    }

    func openConnection(_ engine: AnalyzeEngine) -> OpenConnection? {
        var found: OpenConnection?
        engine.forEachOpenConnection { found = $0 }
        return found
    }

    func judge(synRetries: Int = 2, options: ApplicationOptions? = nil) -> FailureJudge {
        var k = KernelSettings(tcpSynRetries: synRetries, tcpSynLinearTimeouts: 4)
        k.hz = nil
        return FailureJudge(kernel: k, lookup: { _, _ in LocalSocketOptions.Lookup(options: options, source: options == nil ? "not found" : "pid 1 (test)") })
    }

    @Test func unansweredSYNsPredictTheGiveUpFromTheSysctl() throws {
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: []))
        engine.live = true
        for t in [0.0, 1.0] { feed(engine, Self.segment(from: Self.client, to: Self.server, seq: 100, ack: 0, flags: Self.syn), at: t) }
        var c = try #require(openConnection(engine))
        #expect(judge().judge(c, now: 1.5) == nil, "two SYNs are ordinary loss")
        feed(engine, Self.segment(from: Self.client, to: Self.server, seq: 100, ack: 0, flags: Self.syn), at: 2.0)
        c = try #require(openConnection(engine))
        let f = try #require(judge().judge(c, now: 2.1))
        #expect(f.kind == "syn-retransmitting")
        #expect(f.mechanism == .synRetriesExhausted)
        #expect(f.predictedAt == 7.0)   // N=2, L=4: six SYNs 1 s apart, ETIMEDOUT at 7 s
        #expect(f.basis.contains("tcp_syn_retries 2, the namespace's default"))
        #expect(!f.decided)
        #expect(judge().judge(c, now: 7.2)?.decided == false, "within the settle margin")
        #expect(judge().judge(c, now: 7.4)?.decided == true)
    }

    @Test func theSocketsOwnSYNCountWins() throws {
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: []))
        engine.live = true
        for t in [0.0, 1.0, 2.0] { feed(engine, Self.segment(from: Self.client, to: Self.server, seq: 100, ack: 0, flags: Self.syn), at: t) }
        let c = try #require(openConnection(engine))
        let options = ApplicationOptions(keepalive: false, keepIdle: 7200, keepInterval: 75, keepCount: 9, synCount: 1)
        let f = try #require(judge(synRetries: 6, options: options).judge(c, now: 2.1))
        #expect(f.predictedAt == 3.0)   // N=1, L=4: the 2^(N+1)-1 s limit decides
        #expect(f.basis.contains("TCP_SYNCNT 1 read from the socket of pid 1 (test)"))
    }

    @Test func outcomeBesideThePrediction() {
        let p = FailureUnderWay(episode: "syn", kind: "syn-retransmitting", mechanism: .synRetriesExhausted, side: 0, predictedAt: 7.0,
                                since: 0, summary: "", basis: "", decided: true)
        let unseen = Outcome(status: .timeout, mechanism: .synRetriesExhausted, predictedAt: 7.0, summary: "")
        #expect(WatchEngine.compare(p, predictedAt: 7.0, outcome: unseen, happened: 7.0).hasPrefix("as predicted: nothing more on the wire"))
        let k = FailureUnderWay(episode: "k", kind: "keepalive-unanswered", mechanism: .keepalive, side: 0, predictedAt: 13.0,
                                since: 10, summary: "", basis: "", decided: false)
        let late = Outcome(status: .detected, mechanism: .keepalive, detectedAt: 14.0, summary: "")
        #expect(WatchEngine.compare(k, predictedAt: 13.0, outcome: late, happened: 14.0) == "predicted keepalive at +3 s, happened keepalive at +4 s")
        let onTime = Outcome(status: .detected, mechanism: .keepalive, detectedAt: 13.05, summary: "")
        #expect(WatchEngine.compare(k, predictedAt: 13.0, outcome: onTime, happened: 13.05).hasPrefix("as predicted"))
    }

    @Test func anRSTIsReportedAtOnceLive() throws {
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: []))
        engine.live = true
        var reports: [ConnectionReport] = []
        engine.onConnection = { reports.append($0) }
        feed(engine, Self.segment(from: Self.client, to: Self.server, seq: 100, ack: 0, flags: Self.syn), at: 0)
        feed(engine, Self.segment(from: Self.server, to: Self.client, seq: 0, ack: 101, flags: 0x14), at: 0.001)
        #expect(reports.count == 1, "live: reported at the RST, not at the end")
        #expect(reports.first?.outcome.mechanism == .rst)
        _ = engine.finish()
        #expect(reports.count == 1, "and only once")
    }
}
