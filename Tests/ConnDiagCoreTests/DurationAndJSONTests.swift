import Testing
import Foundation
@testable import ConnDiagCore

struct DurationTextTests {
    @Test(arguments: [("250ms", 0.25), ("2s", 2.0), ("1m30s", 90.0), ("1.5s", 1.5), ("2h", 7200.0),
                      ("90", 90.0), ("0", 0.0), ("100us", 0.0001), ("1h2m3s", 3723.0)])
    func parses(text: String, seconds: Double) {
        #expect(abs((DurationText.parse(text) ?? -1) - seconds) < 1e-9)
    }

    @Test(arguments: ["", "-1s", "5x", "s", "1.2.3s", "ms", "1s-", "nan", "inf", "1 s"])
    func rejects(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func formats() {
        #expect(DurationText.format(0.25) == "250ms")
        #expect(DurationText.format(7.134) == "7.134s")
        #expect(DurationText.format(7860) == "2h 11min")
        #expect(DurationText.format(924.6) == "15min 25s")
        #expect(DurationText.trimmed(7) == "7")
    }
}

struct JSONValueTests {
    @Test func serializesInOrderAndEscapes() throws {
        let v: JSONValue = .object([("b", .int(1)), ("a", .string("x\"y\n\u{1}")), ("d", .double(0.5)),
                                    ("n", .null), ("l", .array([.bool(true), .double(3)]))])
        let text = v.serialized()
        #expect(text == #"{"b":1,"a":"x\"y\n\u0001","d":0.5,"n":null,"l":[true,3.0]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(v.serialized(pretty: true).utf8)) as? [String: Any]
        #expect(parsed?["a"] as? String == "x\"y\n\u{1}")
    }

    @Test func nonFiniteBecomesNull() {
        #expect(JSONValue.double(.nan).serialized() == "null")
        #expect(JSONValue.double(.infinity).serialized() == "null")
    }

    @Test func outcomeFollowsContract() throws {
        let o = Outcome(status: .timeout, mechanism: .synRetriesExhausted, detectedAt: 7.1341234, predictedAt: 7.13,
                        errno: "ETIMEDOUT", summary: "gave up")
        let obj = try #require(JSONSerialization.jsonObject(with: Data(o.json.serialized().utf8)) as? [String: Any])
        #expect(obj["status"] as? String == "timeout")
        #expect(obj["mechanism"] as? String == "syn-retries-exhausted")
        #expect(obj["detected_at"] as? Double == 7.134123)
        #expect(obj["errno"] as? String == "ETIMEDOUT")
        #expect(obj.keys.contains("predicted_at"))
    }
}

struct KernelSettingsTests {
    @Test func readsThisKernel() {
        let k = KernelSettings.read()
        #expect(k.tcpSynRetries >= 1)
        #expect(!k.release.isEmpty)
        // tcp_syn_linear_timeouts exists from 6.7 on; compare with the file itself.
        let exists = readSmallFile("/proc/sys/net/ipv4/tcp_syn_linear_timeouts") != nil
        #expect((k.tcpSynLinearTimeouts != nil) == exists)
    }

    /// The coarse clock's answer (what every command uses, without waiting) against 100 ms of
    /// counted jiffies; /proc/timer_list is root-only, so the comparison needs root.
    @Test(.enabled(if: readSmallFile("/proc/timer_list", limit: 64) != nil, "/proc/timer_list unreadable (not root)"))
    func hzFromCoarseClockMatchesTimerList() throws {
        let counted = try #require(KernelSettings.hzFromTimerList())
        #expect(KernelSettings.hzFromCoarseClock() == counted)
        #expect(KernelSettings.measureHZ() == counted)
    }

    @Test func hzFromCoarseClockIsAConfigChoice() {
        // Linux always has CLOCK_MONOTONIC_COARSE; its resolution is one jiffy.
        let hz = KernelSettings.hzFromCoarseClock()
        #expect(hz.map { [100, 250, 300, 1000].contains($0) } == true)
    }

    @Test func readsFromAnotherRoot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdk-\(getpid())")
        let ipv4 = dir.appendingPathComponent("net/ipv4")
        try FileManager.default.createDirectory(at: ipv4, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "3\n".write(to: ipv4.appendingPathComponent("tcp_syn_retries"), atomically: true, encoding: .utf8)
        try "8\n".write(to: ipv4.appendingPathComponent("tcp_retries2"), atomically: true, encoding: .utf8)
        let k = KernelSettings.read(root: dir.path)
        #expect(k.tcpSynRetries == 3)
        #expect(k.tcpRetries2 == 8)
        #expect(k.tcpSynLinearTimeouts == nil)   // a kernel before 6.7
    }
}
