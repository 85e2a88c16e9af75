import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Glibc
import Testing

/// Fixtures (recorded by the real tool in the lab; see make-*.py for the two that needed
/// their own namespaces) and small pcap/pcapng writers for cut and damaged variants.
enum Fixture {
    static func path(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "pcap", subdirectory: "Fixtures") else {
            fatalError("fixture \(name).pcap missing")
        }
        return url.path
    }

    /// A capture other projects recorded (Fixtures/wild, sources in its SOURCES.md), by its
    /// full file name ("zeek-syn-only.pcap").
    static func wild(_ file: String) -> String {
        let dot = file.lastIndex(of: ".")!
        guard let url = Bundle.module.url(forResource: String(file[..<dot]), withExtension: String(file[file.index(after: dot)...]),
                                          subdirectory: "Fixtures/wild") else {
            fatalError("wild fixture \(file) missing")
        }
        return url.path
    }

    /// Every capture in Fixtures/wild, by file name.
    static var wildFiles: [String] {
        let dir = (wild("zeek-syn-only.pcap") as NSString).deletingLastPathComponent
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
    }

    static func bytes(_ name: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path(name))!) }

    static func analyze(_ name: String, _ configure: (inout AnalyzeOptions) -> Void = { _ in }) throws -> AnalyzeResult {
        try analyze(path: path(name), configure)
    }

    static func analyze(path: String, _ configure: (inout AnalyzeOptions) -> Void = { _ in }) throws -> AnalyzeResult {
        var o = AnalyzeOptions(files: [path])
        configure(&o)
        return try AnalyzeEngine(options: o).run()
    }

    /// Writes bytes to a fresh temporary file and returns its path.
    static func temporary(_ bytes: [UInt8], suffix: String = ".pcap") -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("cdanalyze-\(getpid())-\(UUID().uuidString.prefix(8))\(suffix)").path
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    /// A classic pcap file split into its 24-byte header and records (header + data each).
    static func records(_ file: [UInt8]) -> (header: [UInt8], records: [[UInt8]]) {
        let header = Array(file[0..<24])
        var out: [[UInt8]] = []
        var off = 24
        while off + 16 <= file.count {
            let caplen = Int(file[off + 8]) | Int(file[off + 9]) << 8 | Int(file[off + 10]) << 16 | Int(file[off + 11]) << 24
            guard off + 16 + caplen <= file.count else { break }
            out.append(Array(file[off..<(off + 16 + caplen)]))
            off += 16 + caplen
        }
        return (header, out)
    }

    /// The same capture without its first `n` packets: it now begins mid-connection.
    static func cut(_ name: String, droppingFirst n: Int) -> String {
        let (header, recs) = records(bytes(name))
        return temporary(header + recs.dropFirst(n).flatMap { $0 })
    }

    /// The capture as pcapng (nanosecond resolution), with an unknown block after the
    /// interface description: readers must skip blocks they do not know.
    static func pcapng(_ name: String, unknownBlock: Bool) -> String {
        let (header, recs) = records(bytes(name))
        let linkType = UInt16(header[20]) | UInt16(header[21]) << 8
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        // Section header block.
        u32(0x0A0D_0D0A); u32(28); u32(0x1A2B_3C4D); u16(1); u16(0); u32(0xFFFF_FFFF); u32(0xFFFF_FFFF); u32(28)
        // Interface description block with if_tsresol = 9 (nanoseconds).
        u32(1); u32(32); u16(linkType); u16(0); u32(262_144); u16(9); u16(1); out += [9, 0, 0, 0]; u16(0); u16(0); u32(32)
        if unknownBlock {
            u32(0x0000_0BAD); u32(20); out += Array("odd!\u{0}\u{0}\u{0}\u{0}".utf8); u32(20)
        }
        for r in recs {
            let sec = UInt64(UInt32(r[0]) | UInt32(r[1]) << 8 | UInt32(r[2]) << 16 | UInt32(r[3]) << 24)
            let frac = UInt64(UInt32(r[4]) | UInt32(r[5]) << 8 | UInt32(r[6]) << 16 | UInt32(r[7]) << 24)
            let ts = sec * 1_000_000_000 + frac   // the fixtures are nanosecond pcaps
            let data = Array(r[16...])
            let padded = (data.count + 3) & ~3
            let total = UInt32(32 + padded)
            u32(6); u32(total); u32(0); u32(UInt32(ts >> 32)); u32(UInt32(ts & 0xFFFF_FFFF))
            u32(UInt32(data.count)); out += r[12..<16]
            out += data + [UInt8](repeating: 0, count: padded - data.count)
            u32(total)
        }
        return temporary(out, suffix: ".pcapng")
    }
}

extension ConnectionReport {
    func events(_ kind: String) -> [Event] { events.filter { $0.kind.rawValue == kind } }
    func extra(_ key: String) -> JSONValue? { outcome.extra.first { $0.0 == key }?.1 }
}

extension JSONValue {
    var double: Double? {
        switch self { case .double(let d): return d; case .int(let i): return Double(i); default: return nil }
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var int: Int64? { if case .int(let i) = self { return i }; return nil }
}

func near(_ a: Double?, _ b: Double, _ tolerance: Double = 0.05) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tolerance
}
