import FuzzMain
import ConnDiagPacket
import ConnDiagTCP
import Glibc

// Input: a whole pcapng file. It is written to an unlinked temporary file and opened by path, as `analyze`
// opens a file: libpcap checks the section and first interface, then `PcapngReader` reads
// every block in place (pread) and gives each packet its own interface's link type; each
// packet is decoded with it. (FuzzCaptureReader reads from memory through libpcap alone.)
@_cdecl("FuzzPcapngReader_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

/// One unlinked temporary file on tmpfs for the whole run, rewritten and cut to each input's
/// size (Glibc's module does not import memfd_create; on ext4, a file cut to 0 bytes is
/// written back at every close, which made each execution cost milliseconds).
let memfd: Int32 = {
    var template = Array("/dev/shm/fuzz-pcapng-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0, "mkstemp failed")
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    return fd
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Only pcapng: other inputs would test libpcap and ClassicPcapReader (FuzzCaptureReader's job).
    guard size >= 4, data[0] == 0x0A, data[1] == 0x0D, data[2] == 0x0D, data[3] == 0x0A else { return 0 }
    precondition(pwrite(memfd, data, size, 0) == size && ftruncate(memfd, off_t(size)) == 0, "temporary file write failed")
    let capture: PacketCapture
    do { capture = try PacketCapture.openOffline(path: "/proc/self/fd/\(memfd)") } catch { return 0 }
    defer { capture.close() }
    var packets = 0
    reading: while true {
        switch capture.next() {
        case .packet(let p):
            packets += 1
            precondition(p.bytes.count <= size, "a packet longer than the file")
            precondition(p.originalLength >= p.bytes.count, "wire length below the captured length")
            let d = PacketDecoder.decode(p.bytes, linkType: p.linkType ?? capture.linkType, wireLength: p.originalLength)
            if let ip = d.ip { _ = ip.source.description; _ = ip.destination.description }
            _ = d.problem?.description
        case .endOfFile, .error:
            break reading
        }
    }
    precondition(packets <= size / 12, "more packets than blocks could hold")
    return 0
}
