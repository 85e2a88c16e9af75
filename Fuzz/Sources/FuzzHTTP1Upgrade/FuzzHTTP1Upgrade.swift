import FuzzMain
import ConnDiagAnalyze
import ConnDiagHTTP2
import ConnDiagPacket

// The HTTP/1.1 beginning of a connection as analyze follows it into HTTP/2 (`Upgrade: h2c`
// and `101 Switching Protocols`, RFC 7540 §3.2; `CONNECT` and a 2xx, then the tunnel) and the
// sniffers that choose between HTTP/1, TLS and HTTP/2: one connection 10.0.0.1:40000 ->
// 10.0.0.2:8080 fed to AnalyzeEngine, plus `HTTP1Head.parse` on each direction's bytes.
//
// Input: [options][client length, 2][client bytes...][server bytes...]. The two directions
// are sent in alternating segments of (options >> 4) * 64 + 16 bytes, client first.
// options bit 0: port 8080 is --http2-port; bit 1: the capture begins after the handshake
// (no SYN); bit 2: every third client segment is missing from the capture (a gap the
// server's ACK proves); bit 3: parse heads with a 256-byte limit.
// Only the verdicts are built (finish()), not the renderers: FuzzTCPReassembly covers those.

@inline(__always) func be16(_ a: inout [UInt8], _ v: Int) { a.append(UInt8(truncatingIfNeeded: v >> 8)); a.append(UInt8(truncatingIfNeeded: v)) }
@inline(__always) func be32(_ a: inout [UInt8], _ v: UInt32) { be16(&a, Int(v >> 16)); be16(&a, Int(v & 0xFFFF)) }

let client: [UInt8] = [10, 0, 0, 1], server: [UInt8] = [10, 0, 0, 2]
let clientISN: UInt32 = 0xFFFF_FF00, serverISN: UInt32 = 0x1000

/// One IPv4/TCP packet (checksums zero: analyze does not verify them).
func segment(fromServer: Bool, seq: UInt32, ack: UInt32, flags: UInt8, _ payload: ArraySlice<UInt8>) -> [UInt8] {
    var tcp: [UInt8] = []
    be16(&tcp, fromServer ? 8080 : 40000)
    be16(&tcp, fromServer ? 40000 : 8080)
    be32(&tcp, seq)
    be32(&tcp, ack)
    tcp += [5 << 4, flags]
    be16(&tcp, 65535)
    tcp += [0, 0, 0, 0]
    tcp += payload
    var p: [UInt8] = [0x45, 0]
    be16(&p, 20 + tcp.count)
    p += [0, 1, 0x40, 0, 64, 6, 0, 0]
    return p + (fromServer ? server : client) + (fromServer ? client : server) + tcp
}

@_cdecl("FuzzHTTP1Upgrade_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let options = data[0]
    let clientLength = min(Int(data[1]) << 8 | Int(data[2]), size - 3)
    let bytes = Array(UnsafeBufferPointer(start: data + 3, count: size - 3))
    let sides = [bytes[0..<clientLength], bytes[clientLength...]]
    let limit = options & 8 != 0 ? 256 : 64 << 10
    for s in sides {
        s.withUnsafeBytes { raw in
            if case .head(let head, _) = HTTP1Head.parse(raw, limit: limit) {
                _ = head.statusCode; _ = head.method; _ = head.contentLength
                _ = head.lists("connection", "upgrade"); _ = head.field("http2-settings")
            }
            _ = HTTP1Head.startsLikeRequest(raw); _ = HTTP1Head.startsLikeResponse(raw)
        }
    }

    let engine = AnalyzeEngine(options: AnalyzeOptions(files: ["fuzz"], http2Ports: options & 1 != 0 ? [8080] : []))
    var t: Int64 = 1_700_000_000_000_000_000
    func send(_ p: [UInt8]) {
        t += 1_000_000
        p.withUnsafeBytes { engine.feed($0, linkType: .raw, timestampNanos: t) }
    }
    if options & 2 == 0 {
        send(segment(fromServer: false, seq: clientISN, ack: 0, flags: 0x02, []))
        send(segment(fromServer: true, seq: serverISN, ack: clientISN &+ 1, flags: 0x12, []))
        send(segment(fromServer: false, seq: clientISN &+ 1, ack: serverISN &+ 1, flags: 0x10, []))
    }
    let chunk = Int(options >> 4) * 64 + 16
    var offsets = [0, 0]
    var count = 0
    while offsets[0] < sides[0].count || offsets[1] < sides[1].count {
        for side in 0..<2 where offsets[side] < sides[side].count {
            let start = sides[side].startIndex + offsets[side]
            let end = min(start + chunk, sides[side].endIndex)
            let seq = (side == 0 ? clientISN : serverISN) &+ 1 &+ UInt32(offsets[side])
            let ack = (side == 0 ? serverISN : clientISN) &+ 1 &+ UInt32(offsets[1 - side])
            count += 1
            let dropped = side == 0 && options & 4 != 0 && count % 3 == 0
            if !dropped { send(segment(fromServer: side == 1, seq: seq, ack: ack, flags: 0x18, sides[side][start..<end])) }
            offsets[side] += end - start
        }
    }
    // FINs both ways, each acknowledged.
    let cEnd = clientISN &+ 1 &+ UInt32(sides[0].count), sEnd = serverISN &+ 1 &+ UInt32(sides[1].count)
    send(segment(fromServer: false, seq: cEnd, ack: sEnd, flags: 0x11, []))
    send(segment(fromServer: true, seq: sEnd, ack: cEnd &+ 1, flags: 0x11, []))
    send(segment(fromServer: false, seq: cEnd &+ 1, ack: sEnd &+ 1, flags: 0x10, []))
    _ = engine.finish()
    return 0
}
