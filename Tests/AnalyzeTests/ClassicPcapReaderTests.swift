import ConnDiagTCP
import Foundation
import Testing

/// A classic pcap file is read in place (`ClassicPcapReader`) until something needs libpcap;
/// what the engine gets must be exactly what libpcap hands out for the same bytes (read here
/// from memory, where libpcap does all the reading): the same records, timestamps, lengths,
/// and the same error at the same record for damaged files.
@Suite struct ClassicPcapReaderTests {
    struct Read: Equatable {
        var packets: [[Int64]] = []   // timestamp, original length, captured bytes...
        var end = ""
    }

    static func read(_ capture: PacketCapture) -> Read {
        var out = Read()
        while true {
            let status = capture.read(limit: 7) { p in
                out.packets.append([p.timestampNanos, Int64(p.originalLength)] + p.bytes.map { Int64($0) })
            }
            switch status {
            case .more, .drained: continue
            case .endOfFile: out.end = "eof"
            case .error(let m): out.end = m
            }
            return out
        }
    }

    static func viaFile(_ bytes: [UInt8]) throws -> Read {
        let path = Fixture.temporary(bytes)
        defer { unlink(path) }
        let capture = try PacketCapture.openOffline(path: path)
        defer { capture.close() }
        return read(capture)
    }

    static func viaLibpcap(_ bytes: [UInt8]) throws -> Read {
        let capture = try bytes.withUnsafeBytes { try PacketCapture.openOffline(bytes: $0) }
        defer { capture.close() }
        return read(capture)
    }

    /// Variants of a little-endian classic pcap file: byte order, timestamp unit, snapshot
    /// length, version, odd timestamps and lengths, and cuts at every kind of place.
    static func variants(_ file: [UInt8]) -> [(String, [UInt8])] {
        let (header, records) = Fixture.records(file)
        func u32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24 }
        func put(_ b: inout [UInt8], _ i: Int, _ v: UInt32, big: Bool = false) {
            for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: big ? v >> (24 - 8 * k) : v >> (8 * k)) }
        }
        func build(_ h: [UInt8], _ rs: [[UInt8]]) -> [UInt8] { h + rs.flatMap { $0 } }
        var out: [(String, [UInt8])] = [("as is", file)]
        // Big-endian: every header word swapped.
        var bh = header
        put(&bh, 0, u32(header, 0), big: true)
        bh[4] = 0; bh[5] = 2; bh[6] = 0; bh[7] = 4
        for i in [8, 12, 16, 20] { put(&bh, i, u32(header, i), big: true) }
        out.append(("big-endian", build(bh, records.map { r in
            var r = r
            for i in [0, 4, 8, 12] { put(&r, i, u32(r, i), big: true) }
            return r
        })))
        var snap = header
        put(&snap, 16, 120)
        out.append(("snaplen 120 (longer records are cut by libpcap)", build(snap, records)))
        var snap0 = header
        put(&snap0, 16, 0)
        out.append(("snaplen 0", build(snap0, records)))
        var v23 = header
        v23[6] = 3
        out.append(("version 2.3", build(v23, records)))
        var usec = header
        put(&usec, 0, 0xA1B2_C3D4)
        out.append(("microseconds", build(usec, records)))
        out.append(("seconds past 2^31, fractions past a second", build(header, records.enumerated().map { i, r in
            var r = r
            put(&r, 0, u32(r, 0) &+ 0x8000_0000)
            if i % 3 == 1 { put(&r, 4, u32(r, 4) &+ 2_000_000_000) }
            return r
        })))
        let middle = records.count / 2
        var huge = records
        put(&huge[middle], 8, 300_000)
        out.append(("a captured length libpcap rejects", build(header, huge)))
        let whole = build(header, records)
        let lastStart = whole.count - records[records.count - 1].count
        out.append(("cut inside the last record header", Array(whole[..<(lastStart + 7)])))
        out.append(("cut inside the last record's data", Array(whole[..<(lastStart + 16 + 1)])))
        out.append(("file header only", Array(whole[..<24])))
        return out
    }

    @Test(arguments: ["grpc-drain", "proxy-reset", "keepalive-death", "syn-blackhole"])
    func recordsAsLibpcapReadsThem(_ name: String) throws {
        for (what, bytes) in Self.variants(Fixture.bytes(name)) {
            let fast = try Self.viaFile(bytes)
            let libpcap = try Self.viaLibpcap(bytes)
            let differs = zip(fast.packets, libpcap.packets).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(fast == libpcap, "\(name): \(what): \(fast.packets.count) vs \(libpcap.packets.count) records, end \(fast.end) vs \(libpcap.end), first different record \(differs.map(String.init) ?? "none")")
            #expect(!fast.packets.isEmpty || what == "file header only", "\(name): \(what)")
        }
    }

    /// A filter set after opening: libpcap reads (and filters) from where the records begin.
    @Test func filterHandsTheFileToLibpcap() throws {
        let bytes = Fixture.bytes("grpc-drain")
        let path = Fixture.temporary(bytes)
        defer { unlink(path) }
        let file = try PacketCapture.openOffline(path: path)
        defer { file.close() }
        try file.setFilter("tcp[13] & 8 != 0")
        let memory = try bytes.withUnsafeBytes { try PacketCapture.openOffline(bytes: $0) }
        defer { memory.close() }
        try memory.setFilter("tcp[13] & 8 != 0")
        let filtered = Self.read(file)
        let expected = Self.read(memory)
        #expect(filtered == expected, "\(filtered.packets.count) vs \(expected.packets.count) records")
        #expect(filtered.packets.count < Fixture.records(bytes).records.count)
    }
}
