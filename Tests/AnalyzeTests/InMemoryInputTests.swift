import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagPacket
import ConnDiagTCP
import Testing

/// The entry points the fuzzers use (Fuzz/): a capture read from memory, and packets fed
/// one by one, give the same analysis as `run()` on the file. Crash inputs the fuzzers
/// found are kept here as regression tests.
@Suite struct InMemoryInputTests {
    private func json(_ r: AnalyzeResult) -> String { r.report(settings: []).json().serialized() }

    @Test(arguments: ["grpc-drain", "proxy-reset", "flow-control-stall", "user-timeout"])
    func captureFromMemoryMatchesFile(_ name: String) throws {
        let path = Fixture.path(name)
        let fromFile = try Fixture.analyze(path: path)
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: [path]))
        let bytes = Fixture.bytes(name)
        let capture = try bytes.withUnsafeBytes { try PacketCapture.openOffline(bytes: $0, source: path) }
        try engine.read(capture, name: path)
        capture.close()
        #expect(json(engine.finish()) == json(fromFile))
    }

    @Test func fedPacketsMatchFile() throws {
        let path = Fixture.path("grpc-drain")
        let fromFile = try Fixture.analyze(path: path)
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: [path]))
        let (header, records) = Fixture.records(Fixture.bytes("grpc-drain"))
        #expect(header[20] == 1)  // Ethernet, nanosecond timestamps (magic a1b23c4d)
        for r in records {
            func le(_ at: Int) -> Int64 { Int64(r[at]) | Int64(r[at + 1]) << 8 | Int64(r[at + 2]) << 16 | Int64(r[at + 3]) << 24 }
            let wire = Int(le(12))
            Array(r[16...]).withUnsafeBytes {
                engine.feed($0, linkType: .ethernet, timestampNanos: le(0) * 1_000_000_000 + le(4), originalLength: wire)
            }
        }
        #expect(json(engine.finish()) == json(fromFile))
    }

    @Test func notACaptureInMemory() {
        for bytes: [UInt8] in [[], [0xD4, 0xC3], Array("GET / HTTP/1.1\r\n\r\n".utf8)] {
            #expect(throws: ConnDiagError.self) {
                try bytes.withUnsafeBytes { _ = try PacketCapture.openOffline(bytes: $0) }
            }
        }
    }
}
