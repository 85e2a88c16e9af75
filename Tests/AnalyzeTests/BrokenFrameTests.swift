import ConnDiagAnalyze
import ConnDiagCore
import Testing

/// Ethernet/IPv4/TCP packets of one made-up connection (checksums zero: not verified).
struct SyntheticConnection {
    var packets: [(bytes: [UInt8], nanos: Int64)] = []
    var clock: Int64 = 1_000_000_000
    var seq = (client: UInt32(1000), server: UInt32(5000))

    private func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    mutating func add(fromClient: Bool, flags: UInt8, _ payload: [UInt8] = []) {
        let (src, dst): ([UInt8], [UInt8]) = fromClient ? ([10, 0, 0, 1], [10, 0, 0, 2]) : ([10, 0, 0, 2], [10, 0, 0, 1])
        let (sport, dport) = fromClient ? (40000, 8080) : (8080, 40000)
        let mySeq = fromClient ? seq.client : seq.server
        let ack = fromClient ? seq.server : seq.client
        let tcp = be16(sport) + be16(dport) + be32(mySeq) + be32(flags & 0x02 != 0 && !fromClient || flags & 0x10 != 0 ? ack : 0)
            + [0x50, flags] + be16(65535) + [0, 0, 0, 0]
        let ip: [UInt8] = [0x45, 0] + be16(20 + tcp.count + payload.count) + [0, 0, 0x40, 0, 64, 6, 0, 0] + src + dst
        let ethernet: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        packets.append((ethernet + ip + tcp + payload, clock))
        clock += 1_000_000
        let advance = UInt32(payload.count) + (flags & 0x03 != 0 ? 1 : 0)
        if fromClient { seq.client &+= advance } else { seq.server &+= advance }
    }

    /// The handshake, then the client's bytes in the given pieces and the server's SETTINGS.
    static func http2(client pieces: [[UInt8]]) -> SyntheticConnection {
        var c = SyntheticConnection()
        c.add(fromClient: true, flags: 0x02)
        c.add(fromClient: false, flags: 0x12)
        c.add(fromClient: true, flags: 0x10)
        for p in pieces { c.add(fromClient: true, flags: 0x18, p) }
        c.add(fromClient: false, flags: 0x18, [0, 0, 0, 4, 0, 0, 0, 0, 0])
        return c
    }

    func analyze() -> AnalyzeResult {
        let engine = AnalyzeEngine(options: AnalyzeOptions(files: []))
        for p in packets {
            p.bytes.withUnsafeBytes { engine.feed($0, linkType: .ethernet, timestampNanos: p.nanos, originalLength: p.bytes.count) }
        }
        return engine.finish()
    }
}

/// Broken frames seen by analyze: the same decoder as the live path, so the same reasons,
/// on the timeline, however the bytes were cut into segments.
@Suite struct BrokenFrameTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
    static let ping: [UInt8] = [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    static let cases: [(name: String, frame: [UInt8], reason: String)] = [
        ("SETTINGS length 7", [0, 0, 7, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0x64, 0xff],
         "FRAME_SIZE_ERROR: SETTINGS frame length 7 is not a multiple of 6"),
        ("RST_STREAM on stream 0", [0, 0, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2], "PROTOCOL_ERROR: RST_STREAM frame on stream 0"),
        ("PING length 7", [0, 0, 7, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7], "FRAME_SIZE_ERROR: PING frame length 7, expected 8"),
        ("WINDOW_UPDATE length 3", [0, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 1], "FRAME_SIZE_ERROR: WINDOW_UPDATE frame length 3, expected 4"),
    ]

    func invalidDetails(_ r: AnalyzeResult) -> [String] {
        r.connections.flatMap { $0.events("invalid").map(\.detail) }
    }

    @Test(arguments: 0..<4)
    func brokenFrameIsOnTheTimelineHoweverSplit(_ index: Int) throws {
        let c = BrokenFrameTests.cases[index]
        let bytes = BrokenFrameTests.preface + c.frame + BrokenFrameTests.ping
        let expected = ["invalid HTTP/2 from the client: \(c.reason)"]
        // analyze recognises HTTP/2 by the preface in the first segment; after it, any cut.
        let preface = BrokenFrameTests.preface
        let frames = Array(bytes[preface.count...])
        var variants: [(String, [[UInt8]])] = [("whole", [bytes]), ("byte by byte", [preface] + frames.map { [$0] })]
        for cut in (preface.count - 2)..<bytes.count {
            variants.append(("split at \(cut)", [Array(bytes[..<cut]), Array(bytes[cut...])]))
        }
        for (label, pieces) in variants {
            let result = SyntheticConnection.http2(client: pieces).analyze()
            #expect(invalidDetails(result) == expected, "\(c.name), \(label)")
            let pings = result.connections.flatMap { $0.events("ping") }
            #expect(pings.count == 1, "\(c.name), \(label): decoding goes on after the broken frame")
        }
    }

    @Test func bytesEndingInsideAFrameAreShownAsTruncated() {
        let bytes = BrokenFrameTests.preface + Array(BrokenFrameTests.ping[..<12])
        for pieces in [[bytes], [BrokenFrameTests.preface, Array(bytes[BrokenFrameTests.preface.count...])]] {
            let result = SyntheticConnection.http2(client: pieces).analyze()
            let truncated = result.connections.flatMap { $0.events("truncated").map(\.detail) }
            #expect(truncated == ["HTTP/2 from the client is cut short: input ended inside a PING frame (3 of 8 payload bytes)"])
        }
    }
}
