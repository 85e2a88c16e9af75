import Glibc
import ConnDiagPlatform

/// Reads the records of a classic pcap file (version 2.4, micro- or nanosecond timestamps,
/// either byte order) in place from one reused buffer filled by pread(2), for
/// `PacketCapture`'s offline files: libpcap reads the same file through stdio, one fread
/// per record header and one per record into its own buffer, so every byte was copied
/// twice after the kernel's copy.
///
/// It only takes the records libpcap would hand out unchanged: a whole 16-byte header and a
/// captured length within the file's snapshot length (libpcap cuts longer records, or calls
/// them invalid). At anything else (the end of the file inside a record, a longer record, a
/// read error) it stops and says where, and libpcap reads on from that record, so damaged
/// files are reported exactly as libpcap reports them.
final class ClassicPcapReader {
    private let fd: Int32
    /// The file is big-endian (its magic number reads byte-swapped as little-endian).
    private let swapped: Bool
    private let nanoseconds: Bool
    private let snapshotLength: UInt32
    private var buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 20
    /// File offset of `buffer[0]`, the next record within the buffer, and the bytes held.
    private var bufferOffset: Int
    private var position = 0
    private var filled = 0
    private var endOfFile = false

    /// A record, valid until the next call to `next()`.
    struct Record {
        var timestampNanos: Int64
        var bytes: UnsafeRawBufferPointer
        var originalLength: Int
    }

    enum Step {
        case record(Record)
        /// The file ends exactly after the last record.
        case endOfFile
        /// libpcap must read on from this file offset (where the next record begins).
        case handOver(offset: Int)
    }

    /// Nil unless `fd` holds a classic pcap file this reader takes (its 24-byte header is
    /// read with pread: the descriptor's position is not moved).
    init?(fd: Int32) {
        var header = [UInt8](repeating: 0, count: 24)
        let n = header.withUnsafeMutableBytes { raw -> Int in
            switch Syscall.result("pread", { pread(fd, raw.baseAddress, 24, 0) }) {
            case .value(let k): return k
            default: return -1
            }
        }
        guard n == 24 else { return nil }
        func u32(_ i: Int, swapped: Bool) -> UInt32 {
            let v = UInt32(header[i]) | UInt32(header[i + 1]) << 8 | UInt32(header[i + 2]) << 16 | UInt32(header[i + 3]) << 24
            return swapped ? v.byteSwapped : v
        }
        func u16(_ i: Int, swapped: Bool) -> UInt16 {
            let v = UInt16(header[i]) | UInt16(header[i + 1]) << 8
            return swapped ? v.byteSwapped : v
        }
        let magic = u32(0, swapped: false)
        let swapped: Bool, nano: Bool
        switch magic {
        case 0xA1B2_C3D4: swapped = false; nano = false
        case 0xA1B2_3C4D: swapped = false; nano = true
        case 0xD4C3_B2A1: swapped = true; nano = false
        case 0x4D3C_B2A1: swapped = true; nano = true
        default: return nil   // pcapng, modified pcap, ...: libpcap reads it
        }
        guard u16(4, swapped: swapped) == 2, u16(6, swapped: swapped) == 4 else { return nil }
        let snaplen = u32(16, swapped: swapped)
        // libpcap uses the file's snapshot length as is when it is within the largest any
        // link type allows; otherwise it picks one by link type (left to libpcap).
        guard snaplen > 0, snaplen <= 262_144 else { return nil }
        self.fd = fd
        self.swapped = swapped
        self.nanoseconds = nano
        self.snapshotLength = snaplen
        buffer = .allocate(byteCount: capacity, alignment: 16)
        bufferOffset = 24
    }

    deinit { buffer.deallocate() }

    /// File offset where the next record (not yet handed out) begins.
    var nextRecordOffset: Int { bufferOffset + position }

    @inline(__always)
    private func word(_ at: Int) -> UInt32 {
        let v = buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        return swapped ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    /// The next record, or what ends this reader's part.
    @inline(__always)
    func next() -> Step {
        while true {
            let available = filled - position
            if available >= 16 {
                let caplen = word(position + 8)
                if caplen > snapshotLength { return .handOver(offset: bufferOffset + position) }
                let total = 16 + Int(caplen)
                if available >= total {
                    // As libpcap: 32-bit signed seconds and sub-seconds, microseconds scaled up.
                    let seconds = Int64(Int32(bitPattern: word(position)))
                    let fraction = Int64(Int32(bitPattern: word(position + 4)))
                    let record = Record(timestampNanos: seconds &* 1_000_000_000 &+ (nanoseconds ? fraction : fraction &* 1000),
                                        bytes: UnsafeRawBufferPointer(start: buffer + position + 16, count: Int(caplen)),
                                        originalLength: Int(word(position + 12)))
                    position += total
                    return .record(record)
                }
            }
            if endOfFile {
                return available == 0 ? .endOfFile : .handOver(offset: bufferOffset + position)
            }
            guard refill() else { return .handOver(offset: bufferOffset + position) }
        }
    }

    /// Moves the unread tail to the front and reads more; false on a read error.
    private func refill() -> Bool {
        let tail = filled - position
        if tail > 0 && position > 0 { buffer.copyMemory(from: buffer + position, byteCount: tail) }
        bufferOffset += position
        position = 0
        filled = tail
        while filled < capacity {
            switch Syscall.result("pread", { pread(fd, buffer + filled, capacity - filled, off_t(bufferOffset + filled)) }) {
            case .value(let n):
                if n == 0 { endOfFile = true; return true }
                filled += n
                // One read is enough when it brought a whole record.
                if filled >= 16 && filled >= 16 + Int(word(8)) { return true }
            default:
                return false
            }
        }
        return true
    }
}
