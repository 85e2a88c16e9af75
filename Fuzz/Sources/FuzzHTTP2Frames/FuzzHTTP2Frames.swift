import FuzzMain
import ConnDiagHTTP2

// Input: [options][chunk size][bytes of one direction of an HTTP/2 connection...].
// options bit 0: server side (else client); bit 1: from the connection start (client
// preface, first SETTINGS) else mid-connection; bit 2: a small frame size limit (frames
// above it stop the decoder); bit 3: a small header block limit; bit 4: a raised header
// table size; bit 5: SETTINGS_MAX_FRAME_SIZE raised half-way; bit 6: capture gaps (before a
// chunk whose first byte is a multiple of 5, that byte + 1 bytes are missing). The bytes are appended in chunks of (chunk size + 1), draining the decoder
// after each append as the analyser does, then `finish()`.
@_cdecl("FuzzHTTP2Frames_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let options = data[0]
    let chunk = Int(data[1]) + 1
    let decoder = HTTP2FrameDecoder(
        side: options & 1 != 0 ? .server : .client,
        fromConnectionStart: options & 2 != 0,
        frameSizeLimit: options & 4 != 0 ? 1 << 16 : HTTP2Defaults.maxFrameSizeLimit,
        maxHeaderBlockSize: options & 8 != 0 ? 256 : 1 << 20,
        headerTableSize: options & 16 != 0 ? 65536 : HTTP2Defaults.headerTableSize)
    let bytes = UnsafeBufferPointer(start: data + 2, count: size - 2)
    var offset = 0
    var stopped = false
    var missing = 0
    while offset < bytes.count && !stopped {
        if options & 64 != 0 && bytes[offset] % 5 == 0 {
            let n = Int(bytes[offset]) + 1
            decoder.appendMissing(n)
            missing += n
        }
        let end = min(bytes.count, offset + chunk)
        decoder.append(bytes: UnsafeBufferPointer(rebasing: bytes[offset..<end]))
        offset = end
        drain: while true {
            let r = decoder.nextFrame()
            switch r {
            case .needMoreData: break drain
            case .stopped: stopped = true; break drain
            case .frame(let f, let at):
                _ = f.description
                precondition(at >= 0 && at <= offset + missing, "frame offset outside the input")
            case .preface(let at), .invalid(_, let at), .truncated(_, let at), .resynchronized(_, let at):
                precondition(at >= 0 && at <= offset + missing, "result offset outside the input")
            }
        }
        precondition(decoder.consumedOffset <= offset + missing, "consumed offset beyond the input")
        // As the analyser does after the peer's SETTINGS raise SETTINGS_MAX_FRAME_SIZE.
        if options & 32 != 0 && offset >= bytes.count / 2 { decoder.maxFrameSize = 1 << 20 }
    }
    _ = decoder.finish()
    return 0
}
