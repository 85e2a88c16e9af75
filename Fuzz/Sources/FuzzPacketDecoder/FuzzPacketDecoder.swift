import FuzzMain
import ConnDiagPacket

// Input: [link selector][wire length extra, 2 bytes big-endian][frame bytes...].
// The selector picks every link type the decoder knows (and one it does not); the extra
// wire length exercises the TSO/GSO path (IP length 0 ends at the wire length).
let linkTypes: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .raw, .rawLinktype, .null, .loop,
                             .ipv4, .ipv6, LinkType(rawValue: 147), .nflog]

@_cdecl("FuzzPacketDecoder_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let link = linkTypes[Int(data[0]) % linkTypes.count]
    let extra = Int(data[1]) << 8 | Int(data[2])
    let frame = UnsafeRawBufferPointer(start: data + 3, count: size - 3)
    let p = PacketDecoder.decode(frame, linkType: link, wireLength: frame.count + extra)
    // Touch what the analysers read, so a lazily wrong value shows up here too.
    if let ip = p.ip { _ = ip.source.description; _ = ip.destination.description }
    _ = p.problem?.description
    switch p.transport {
    case .tcp(let s):
        precondition(s.payloadLength >= 0 && s.capturedPayloadLength >= 0 && s.capturedPayloadLength <= s.payloadLength,
                     "TCP payload lengths inconsistent")
        if s.capturedPayloadLength > 0 {
            precondition(s.payloadOffset >= 0 && s.payloadOffset + s.capturedPayloadLength <= frame.count,
                         "captured payload outside the frame")
        }
    case .icmp(let m):
        _ = "\(m)"
    default: break
    }
    return 0
}
