import FuzzMain
import ConnDiagHTTP2

// The HTTP/1.1 head decoder behind h2c upgrades and CONNECT tunnels (`HTTP1Head`, RFC 9112
// message heads; `upgradeSettings`, the base64url SETTINGS payload of RFC 7540 §3.2.1), on its
// own so it can run millions of inputs; FuzzHTTP1Upgrade drives the same decoder inside
// analyze's connection following, at a fraction of the speed.
//
// Input: [limit selector][bytes...]. The bytes are parsed whole and as every growing prefix
// a segment boundary could cut (every 7th length), as the follower sees them arrive; every
// field of a complete head goes through the lookups, and each value through upgradeSettings.
@_cdecl("FuzzHTTP1Head_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let limit = [64 << 10, 256, 16, 1][Int(data[0] & 3)]
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var cut = 0
    while true {
        let prefix = UnsafeRawBufferPointer(rebasing: bytes[0..<min(cut, bytes.count)])
        _ = HTTP1Head.startsLikeRequest(prefix)
        _ = HTTP1Head.startsLikeResponse(prefix)
        if case .head(let head, let length) = HTTP1Head.parse(prefix, limit: limit) {
            precondition(length > 0 && length <= prefix.count, "head length \(length) outside the \(prefix.count) bytes given")
            _ = head.statusCode; _ = head.method; _ = head.target; _ = head.contentLength
            _ = head.lists("connection", "upgrade"); _ = head.lists("upgrade", "h2c")
            for f in head.fields {
                _ = head.field(f.name)
                _ = HTTP1Head.upgradeSettings(f.value)
            }
        }
        if cut >= bytes.count { break }
        cut = min(cut + 7, bytes.count)
    }
    return 0
}
