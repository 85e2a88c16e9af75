/// The places packets were captured: one per file and pcapng interface, numbered as first
/// seen (up to 64; later ones share the last bit). A connection records which points saw
/// each of its sides, so a capture whose points each saw one direction can say so.
final class CapturePoints {
    let files: [String]
    init(files: [String]) { self.files = files }
    private var slots: [Int: Int] = [:]
    private(set) var names: [(file: Int, interface: Int)] = []
    private var lastKey = -1
    private var lastBit: UInt64 = 1

    /// The bit of the point that saw a packet of file `file`, interface `interface`.
    @inline(__always)
    func slot(file: Int, interface: Int) -> UInt64 {
        let key = file << 32 | interface
        if key == lastKey { return lastBit }
        let index: Int
        if let i = slots[key] { index = i } else {
            index = min(names.count, 63)
            if names.count < 64 { slots[key] = index; names.append((file, interface)) }
        }
        lastKey = key
        lastBit = 1 << UInt64(index)
        return lastBit
    }

    /// "interface 1" (one file), or "b.pcapng interface 1" (several).
    func describe(_ mask: UInt64) -> String {
        let several = Set(names.map(\.file)).count > 1
        return (0..<names.count).filter { mask & (1 << UInt64($0)) != 0 }.map { i in
            let p = names[i]
            let file = p.file < files.count ? String(files[p.file].split(separator: "/").last ?? "") : "file \(p.file + 1)"
            return several ? "\(file) interface \(p.interface)" : "interface \(p.interface)"
        }.joined(separator: ", ")
    }
}
