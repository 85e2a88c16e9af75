import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Glibc
import Testing

/// Broken input never crashes: a file that is not a capture is a one-line error (exit 4);
/// damage part-way is reported and what came before it is analysed.
@Suite struct DamagedInputTests {
    private func badInput(_ path: String) -> ConnDiagError? {
        do { _ = try Fixture.analyze(path: path); return nil } catch let e as ConnDiagError { return e } catch { return nil }
    }

    @Test func zeroLengthFile() {
        let e = badInput(Fixture.temporary([]))
        #expect(e?.exitStatus == .badInput)
        #expect(e?.message.contains("empty file") == true)
    }

    @Test func truncatedFileHeader() {
        let e = badInput(Fixture.temporary(Array(Fixture.bytes("grpc-drain").prefix(10))))
        #expect(e?.exitStatus == .badInput)
        #expect(e?.message.contains("not a capture") == true)
    }

    @Test func randomBytes() {
        var g = SystemRandomNumberGenerator()
        let e = badInput(Fixture.temporary((0..<4096).map { _ in UInt8.random(in: 0...255, using: &g) } ))
        #expect(e?.exitStatus == .badInput)
        #expect(e?.message.split(separator: "\n").count == 1)
    }

    @Test func truncatedRecord() throws {
        let bytes = Fixture.bytes("grpc-drain")
        let r = try Fixture.analyze(path: Fixture.temporary(Array(bytes.dropLast(40))))
        #expect(r.inputProblems.contains { $0.contains("ends inside a record") })
        #expect(!r.damaged)
        #expect(r.connections.count == 1)
        #expect(r.connections.first?.events("goaway").count == 2)
    }

    @Test func badRecordLength() throws {
        // The 10th record claims a captured length far beyond any snapshot length.
        let (header, recs) = Fixture.records(Fixture.bytes("grpc-drain"))
        var broken = recs
        broken[9].replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0x7F])
        let r = try Fixture.analyze(path: Fixture.temporary(header + broken.flatMap { $0 }))
        #expect(r.damaged)
        #expect(r.inputProblems.contains { $0.contains("bad record") })
        #expect(r.packets == 9)
    }

    @Test func snaplenCutPackets() throws {
        // Every record cut to 80 bytes, as `tcpdump -s 80` would: TCP still analysed,
        // HTTP/2 decoding stops with a note instead of guessing.
        let (header, recs) = Fixture.records(Fixture.bytes("grpc-drain"))
        var h = header
        h.replaceSubrange(16..<20, with: [80, 0, 0, 0])
        let cut = recs.map { r -> [UInt8] in
            guard r.count > 16 + 80 else { return r }
            var x = Array(r.prefix(16 + 80))
            x.replaceSubrange(8..<12, with: [80, 0, 0, 0])
            return x
        }
        let r = try Fixture.analyze(path: Fixture.temporary(h + cut.flatMap { $0 }))
        let c = try #require(r.connections.first)
        #expect(r.inputProblems.contains { $0.contains("snapshot length") })
        #expect(c.findings.contains { $0.kind == "snaplen" })
        #expect(c.outcome.status == .closed)
    }

    @Test func garbagePacketsAmongGoodOnes() throws {
        // Records whose bytes are noise decode as problems and are counted, not fatal.
        let (header, recs) = Fixture.records(Fixture.bytes("keepalive-death"))
        var mixed = recs
        var junk = Array(recs[1].prefix(16)) + [UInt8](repeating: 0xEE, count: 40)
        junk.replaceSubrange(8..<12, with: [40, 0, 0, 0]); junk.replaceSubrange(12..<16, with: [40, 0, 0, 0])
        mixed.insert(junk, at: 2)
        let r = try Fixture.analyze(path: Fixture.temporary(header + mixed.flatMap { $0 }))
        #expect(r.connections.first?.outcome.mechanism == .keepalive)
        #expect(r.packets == recs.count + 1)
    }

    @Test func pcapngWithAnUnknownBlock() throws {
        let r = try Fixture.analyze(path: Fixture.pcapng("keepalive-death", unknownBlock: true))
        let c = try #require(r.connections.first)
        #expect(c.outcome.mechanism == .keepalive)
        #expect(near(c.outcome.detectedAt, 5.10))
        #expect(r.inputProblems.isEmpty)
    }

    /// A pcapng file longer than PcapngReader's first 64 KiB buffer (104 KB of packets): the
    /// buffer grows while reading and every packet reads as from the pcap.
    @Test func pcapngLongerThanTheFirstBuffer() throws {
        let pcap = try Fixture.analyze("flow-control-stall")
        let r = try Fixture.analyze(path: Fixture.pcapng("flow-control-stall", unknownBlock: false))
        #expect(r.packets == pcap.packets && r.tcpPackets == pcap.tcpPackets && r.inputProblems.isEmpty)
        #expect(r.connections.map { $0.outcome.mechanism } == pcap.connections.map { $0.outcome.mechanism })
        #expect(r.findings.count == pcap.findings.count)
    }

    // MARK: - The binary's exit codes

    static let binary: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let b = ProcessInfo.processInfo.environment["CONNDIAG_BIN"] ?? root.appendingPathComponent(".build/debug/conndiag").path
        guard FileManager.default.isExecutableFile(atPath: b), run(b, ["analyze", "--help"]).status == 0 else { return nil }
        return b
    }()

    static func run(_ binary: String, _ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test(.enabled(if: binary != nil, "the conndiag binary with `analyze` is not built"))
    func exitCodes() throws {
        let b = try #require(Self.binary)
        let notCapture = Self.run(b, ["analyze", Fixture.temporary(Array("hello, this is not a capture\n".utf8))])
        #expect(notCapture.status == 4)
        #expect(notCapture.stderr.split(separator: "\n").count == 1)
        #expect(notCapture.stderr.contains("not a pcap or pcapng capture"))
        #expect(Self.run(b, ["analyze", Fixture.temporary([])]).status == 4)
        #expect(Self.run(b, ["analyze"]).status == 2)
        #expect(Self.run(b, ["analyze", Fixture.path("grpc-drain"), "--filter", "tcp port ("]).status == 2)
        let failing = Self.run(b, ["analyze", Fixture.path("keepalive-death"), "--format", "table"])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("detected/keepalive"))
        let json = Self.run(b, ["analyze", Fixture.path("grpc-drain"), "--json"])
        #expect(json.stdout.contains("\"command\": \"analyze\""))
        let nd = Self.run(b, ["analyze", Fixture.path("grpc-drain"), Fixture.path("syn-blackhole"), "--format", "ndjson"])
        let lines = nd.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("{\"type\":\"connection\"") == true)
        #expect(lines.last?.hasPrefix("{\"type\":\"summary\"") == true)
        let (header, recs) = Fixture.records(Fixture.bytes("grpc-drain"))
        var broken = recs
        broken[9].replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0x7F])
        let damaged = Self.run(b, ["analyze", Fixture.temporary(header + broken.flatMap { $0 }), "--format", "table"])
        #expect(damaged.status == 4)
        #expect(damaged.stdout.contains("connections:"))
        #expect(damaged.stderr.contains("bad record"))
    }
}
