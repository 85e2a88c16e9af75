import Glibc
import ConnDiagPacket
import ConnDiagPlatform

/// Reads a pcapng file (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html) in
/// place from one reused buffer filled by pread(2), as `ClassicPcapReader` does for classic
/// pcap, and gives each packet its own interface's link type: libpcap reads pcapng only
/// when every interface has the link type of the first, and a capture on `any` plus other
/// interfaces does not.
///
/// It follows Section Header Blocks of either byte order (several sections: each resets the
/// interfaces), Interface Description Blocks with `if_tsresol` (powers of 10 and of 2) and
/// `if_tsoffset`, Enhanced, Simple and obsolete Packet Blocks, and skips every other block.
/// A block longer than `maximumBlockLength`, a length that is not a multiple of 4 or does
/// not match its trailing copy, a packet naming an undefined interface or reaching past its
/// block, stops it with an error naming the offset; so does the end of the file inside a
/// block (the message then says "truncated", as libpcap's does).
final class PcapngReader {
    static let maximumBlockLength = 16 << 20
    private static let sectionHeaderType: UInt32 = 0x0A0D_0D0A

    private let fd: Int32
    private var buffer: UnsafeMutableRawPointer
    /// 64 KiB until the file proves longer, then 1 MiB: most pcapng inputs of tests and
    /// fuzzing are small, and a 1 MiB allocation per file is a fresh mmap each time.
    private var capacity = 64 << 10
    private static let largeCapacity = 1 << 20
    /// File offset of `buffer[0]`, the next block within the buffer, and the bytes held.
    private var bufferOffset = 0
    private var position = 0
    private var filled = 0
    private var endOfFile = false
    /// The current section's byte order.
    private var bigEndian = false
    private var interfaces: [Interface] = []
    /// Interfaces described by earlier sections (a packet's interface number is file-wide).
    private var interfacesBeforeSection = 0
    /// Receives each Decryption Secrets Block (secrets type, secrets bytes) as it is read.
    var onDecryptionSecrets: ((UInt32, UnsafeRawBufferPointer) -> Void)?
    /// The last timestamp handed out: a Simple Packet Block has none of its own.
    private var lastTimestampNanos: Int64 = 0

    struct Interface {
        var linkType: LinkType
        /// Timestamp units per second as 10^exponent (decimal) or 2^exponent (binary).
        var exponent: UInt8 = 6
        var binary = false
        var offsetSeconds: Int64 = 0

        /// Nanoseconds since the epoch of a timestamp in this interface's units.
        func nanoseconds(_ units: UInt64) -> Int64 {
            var nanos: Int64
            if binary {
                let e = UInt64(min(exponent, 63))
                let whole = units >> e
                let fraction = units & ((1 << e) - 1)
                let (high, low) = fraction.multipliedFullWidth(by: 1_000_000_000)
                let scaled = e == 0 ? 0 : (high << (64 - e)) | (low >> e)
                nanos = Int64(truncatingIfNeeded: whole &* 1_000_000_000 &+ scaled)
            } else if exponent <= 9 {
                var m: UInt64 = 1
                for _ in 0..<(9 - Int(exponent)) { m &*= 10 }
                nanos = Int64(truncatingIfNeeded: units &* m)
            } else {
                var d: UInt64 = 1
                for _ in 0..<min(Int(exponent) - 9, 19) { d &*= 10 }
                nanos = Int64(truncatingIfNeeded: units / d)
            }
            return nanos &+ offsetSeconds &* 1_000_000_000
        }
    }

    /// A packet, valid until the next call to `next()`.
    struct Record {
        var timestampNanos: Int64
        var bytes: UnsafeRawBufferPointer
        var originalLength: Int
        var linkType: LinkType
        /// The interface the packet was captured on, counted across the file's sections.
        var interface: Int
    }

    enum Step {
        case record(Record)
        case endOfFile
        /// Damage at a block; what came before was read. "truncated" when the file ends inside one.
        case failed(String)
    }

    /// Nil unless `fd` starts with a pcapng Section Header Block (read with pread: the
    /// descriptor's position is not moved).
    init?(fd: Int32) {
        guard PcapngReader.startsWithSectionHeader(fd: fd) else { return nil }
        self.fd = fd
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// True when `fd` starts with a pcapng Section Header Block (read with pread).
    static func startsWithSectionHeader(fd: Int32) -> Bool {
        var magic: UInt32 = 0
        let n = withUnsafeMutableBytes(of: &magic) { raw -> Int in
            switch Syscall.result("pread", { pread(fd, raw.baseAddress, 4, 0) }) {
            case .value(let k): return k
            default: return -1
            }
        }
        return n == 4 && magic == sectionHeaderType
    }

    /// File offset where the next block (not yet read) begins.
    var nextBlockOffset: Int { bufferOffset + position }
    /// True once a packet was handed out.
    private(set) var handedOut = false

    @inline(__always)
    private func u32(_ at: Int) -> UInt32 {
        let v = buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }
    @inline(__always)
    private func u16(_ at: Int) -> UInt16 {
        let v = buffer.loadUnaligned(fromByteOffset: at, as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }

    /// The next packet, the end of the file, or the damage that stops the reading.
    func next() -> Step {
        while true {
            let available = filled - position
            if available >= 12 {
                let type = buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self)
                if type == PcapngReader.sectionHeaderType {
                    // The byte order is the section's own: read it before the block length.
                    let magic = buffer.loadUnaligned(fromByteOffset: position + 8, as: UInt32.self)
                    if magic == 0x1A2B_3C4D { bigEndian = false }
                    else if magic == 0x4D3C_2B1A { bigEndian = true }
                    else { return fail("section header with an unknown byte-order magic") }
                }
                let length = Int(u32(position + 4))
                guard length >= 12, length % 4 == 0, length <= PcapngReader.maximumBlockLength else {
                    return fail("block length \(length) (must be a multiple of 4 from 12 to \(PcapngReader.maximumBlockLength))")
                }
                if available >= length {
                    guard Int(u32(position + length - 4)) == length else { return fail("block length \(length) differs from its trailing copy") }
                    let start = position
                    position += length
                    switch block(type: bigEndian ? UInt32(bigEndian: type) : UInt32(littleEndian: type), at: start, length: length) {
                    case .none: continue
                    case .some(.record(let r)):
                        handedOut = true
                        lastTimestampNanos = r.timestampNanos
                        return .record(r)
                    case .some(let other):
                        position = start
                        return other
                    }
                }
                if length > capacity { grow(to: length) }
            }
            if endOfFile {
                if available == 0 { return .endOfFile }
                return .failed("truncated pcapng file: it ends inside the block at offset \(bufferOffset + position)")
            }
            guard refill() else { return .failed("read error at offset \(bufferOffset + filled)") }
        }
    }

    private func fail(_ what: String) -> Step {
        .failed("bad pcapng block at offset \(bufferOffset + position): \(what)")
    }

    /// Reads one whole block held at `start`: a record, nil for a block that holds no packet,
    /// or the damage.
    private func block(type: UInt32, at start: Int, length: Int) -> Step? {
        let bodyEnd = start + length - 4
        switch type {
        case PcapngReader.sectionHeaderType:
            guard length >= 28 else { return fail("section header shorter than 28 bytes") }
            interfacesBeforeSection += interfaces.count
            interfaces.removeAll(keepingCapacity: true)
            return nil
        case 1:  // Interface Description
            guard length >= 20 else { return fail("interface description shorter than 20 bytes") }
            var interface = Interface(linkType: LinkType(rawValue: Int32(u16(start + 8))))
            var off = start + 16
            while off + 4 <= bodyEnd {
                let code = u16(off), size = Int(u16(off + 2))
                let value = off + 4
                if code == 0 || value + size > bodyEnd { break }
                if code == 9 && size >= 1 {
                    let r = buffer.load(fromByteOffset: value, as: UInt8.self)
                    interface.binary = r & 0x80 != 0
                    interface.exponent = r & 0x7F
                } else if code == 14 && size >= 8 {
                    // One 64-bit value in the section's byte order.
                    let first = UInt64(u32(value)), second = UInt64(u32(value + 4))
                    interface.offsetSeconds = Int64(bitPattern: bigEndian ? first << 32 | second : second << 32 | first)
                }
                off = value + ((size + 3) & ~3)
            }
            interfaces.append(interface)
            return nil
        case 6:  // Enhanced Packet
            guard length >= 32 else { return fail("enhanced packet block shorter than 32 bytes") }
            let id = Int(u32(start + 8))
            let units = UInt64(u32(start + 12)) << 32 | UInt64(u32(start + 16))
            return packet(interface: id, units: units, captured: Int(u32(start + 20)), original: Int(u32(start + 24)),
                          data: start + 28, bodyEnd: bodyEnd)
        case 3:  // Simple Packet: interface 0, no timestamp, captured = what the block holds
            guard length >= 16 else { return fail("simple packet block shorter than 16 bytes") }
            let original = Int(u32(start + 8))
            return packet(interface: 0, units: nil, captured: min(original, bodyEnd - (start + 12)), original: original,
                          data: start + 12, bodyEnd: bodyEnd)
        case 2:  // obsolete Packet Block
            guard length >= 32 else { return fail("packet block shorter than 32 bytes") }
            let id = Int(u16(start + 8))
            let units = UInt64(u32(start + 12)) << 32 | UInt64(u32(start + 16))
            return packet(interface: id, units: units, captured: Int(u32(start + 20)), original: Int(u32(start + 24)),
                          data: start + 28, bodyEnd: bodyEnd)
        case 10:  // Decryption Secrets: secrets type, length, the secrets (a key log for 'TLSK')
            guard length >= 20 else { return fail("decryption secrets block shorter than 20 bytes") }
            let size = Int(u32(start + 12))
            guard size <= bodyEnd - (start + 16) else { return fail("decryption secrets of \(size) bytes reach past their block") }
            onDecryptionSecrets?(u32(start + 8), UnsafeRawBufferPointer(start: buffer + start + 16, count: size))
            return nil
        default:
            return nil  // name resolution, statistics, journal, custom ...: nothing to analyse
        }
    }

    private func packet(interface id: Int, units: UInt64?, captured: Int, original: Int, data: Int, bodyEnd: Int) -> Step {
        guard id >= 0, id < interfaces.count else { return fail("packet on interface \(id), but \(interfaces.count) interfaces are described") }
        guard captured >= 0, data + captured <= bodyEnd else { return fail("captured length \(captured) reaches past its block") }
        let interface = interfaces[id]
        return .record(Record(timestampNanos: units.map { interface.nanoseconds($0) } ?? lastTimestampNanos,
                              bytes: UnsafeRawBufferPointer(start: buffer + data, count: captured),
                              originalLength: max(original, captured), linkType: interface.linkType,
                              interface: interfacesBeforeSection + id))
    }

    /// A block longer than the buffer: a larger buffer (up to `maximumBlockLength`).
    private func grow(to length: Int) {
        var size = capacity
        while size < length { size *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        bigger.copyMemory(from: buffer + position, byteCount: filled - position)
        buffer.deallocate()
        buffer = bigger
        bufferOffset += position
        filled -= position
        position = 0
        capacity = size
    }

    /// Moves the unread tail to the front and reads more; false on a read error.
    private func refill() -> Bool {
        let tail = filled - position
        if tail > 0 && position > 0 { buffer.copyMemory(from: buffer + position, byteCount: tail) }
        bufferOffset += position
        position = 0
        filled = tail
        if capacity < PcapngReader.largeCapacity && bufferOffset > 0 {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: PcapngReader.largeCapacity, alignment: 16)
            bigger.copyMemory(from: buffer, byteCount: filled)
            buffer.deallocate()
            buffer = bigger
            capacity = PcapngReader.largeCapacity
        }
        while filled < capacity {
            switch Syscall.result("pread", { pread(fd, buffer + filled, capacity - filled, off_t(bufferOffset + filled)) }) {
            case .value(let n):
                if n == 0 { endOfFile = true; return true }
                filled += n
                if filled >= 12 && filled >= Int(u32(4)) { return true }
            default:
                return false
            }
        }
        return true
    }
}
