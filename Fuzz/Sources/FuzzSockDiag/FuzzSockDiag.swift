import FuzzMain
import ConnDiagInspect

// Input: the bytes of one recv() from NETLINK_SOCK_DIAG, as the kernel would send them.
// The parser must never read past them whatever the lengths say, and every socket it
// returns must be self-consistent.
@_cdecl("FuzzSockDiag_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let messages = SockDiagParser.parse(bytes)
    precondition(messages.count <= size / 16 + 1, "more messages than the bytes can hold")
    for m in messages {
        if case .socket(let s) = m {
            precondition(s.localAddress.count == (s.family == 2 ? 4 : 16) && s.remoteAddress.count == s.localAddress.count,
                         "address length does not match the family")
            _ = s.local; _ = s.remote; _ = s.state.description; _ = s.timer.description
            _ = s.info?.idleSeconds
        }
    }
    return 0
}
