import FuzzMain
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagOutput
import ConnDiagPacket

// TCP reassembly (and what sits on it: the per-connection TCP analysis and the HTTP/2
// decoding of the reassembled bytes) fed with segments of one connection between
// 10.0.0.1:40000 (client) and 10.0.0.2:50051 (server), built as raw IPv4 packets.
//
// Input: a 9-byte header [options][client ISN, 4][server ISN, 4], then records
//   [control][TCP flags][seq - ISN, 3][ack - peer ISN, 3][window, 2][time step, 2]
//   [option length][payload length, 2][options...][payload...]
// control bit 0: from the server; bit 1: the capture cut the payload to half (snaplen);
// bit 2: an ICMP port unreachable quoting this segment comes back instead.
// Time step: milliseconds, or tens of milliseconds with the top bit set.
// Header options bit 0: port 50051 is --http2-port; bit 1: few events per connection;
// bit 2: a 1 s stall threshold; bit 3: render the JSON report and the table (the verdicts;
// this halves the executions per second, so only inputs with the bit pay for it).
// Sequence numbers are relative to the ISNs, so the corpus (from the lab captures) keeps
// its meaning while the fuzzer moves the ISNs around the 2^32 wrap.

@inline(__always) func be16(_ a: inout [UInt8], _ v: Int) { a.append(UInt8(truncatingIfNeeded: v >> 8)); a.append(UInt8(truncatingIfNeeded: v)) }
@inline(__always) func be32(_ a: inout [UInt8], _ v: UInt32) { be16(&a, Int(v >> 16)); be16(&a, Int(v & 0xFFFF)) }

let client: [UInt8] = [10, 0, 0, 1], server: [UInt8] = [10, 0, 0, 2]

func ipv4(_ src: [UInt8], _ dst: [UInt8], proto: UInt8, _ body: [UInt8]) -> [UInt8] {
    var p: [UInt8] = [0x45, 0]
    be16(&p, 20 + body.count)
    p += [0, 1, 0x40, 0, 64, proto, 0, 0]
    return p + src + dst + body
}

@_cdecl("FuzzTCPReassembly_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 9 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    func u(_ at: Int, _ n: Int) -> UInt32 { (0..<n).reduce(0) { $0 << 8 | UInt32(input[at + $1]) } }
    let options = input[0]
    let isn = [u(1, 4), u(5, 4)]
    let engine = AnalyzeEngine(options: AnalyzeOptions(
        files: ["fuzz"], http2Ports: options & 1 != 0 ? [50051] : [],
        stallThreshold: options & 4 != 0 ? 1 : 5, maxEventsPerConnection: options & 2 != 0 ? 8 : 300))
    var t: Int64 = 1_700_000_000_000_000_000
    var off = 9
    while off + 15 <= size {
        let control = input[off], flags = input[off + 1]
        let fromServer = control & 1 != 0
        let seq = isn[fromServer ? 1 : 0] &+ u(off + 2, 3)
        let ack = isn[fromServer ? 0 : 1] &+ u(off + 5, 3)
        let window = Int(u(off + 8, 2))
        let step = Int64(u(off + 10, 2))
        t += (step & 0x8000 != 0 ? (step & 0x7FFF) * 10 : step) * 1_000_000
        let optionLength = min(Int(input[off + 12]) & 0x3C, 40)
        let payloadLength = Int(u(off + 13, 2))
        off += 15
        let opts = Array(input[off..<min(size, off + optionLength)])
        off += opts.count
        let payload = Array(input[off..<min(size, off + payloadLength)])
        off += payload.count
        var tcp: [UInt8] = []
        be16(&tcp, fromServer ? 50051 : 40000)
        be16(&tcp, fromServer ? 40000 : 50051)
        be32(&tcp, seq)
        be32(&tcp, ack)
        tcp.append(UInt8((20 + (opts.count + 3) / 4 * 4) / 4) << 4)
        tcp.append(flags)
        be16(&tcp, window)
        tcp += [0, 0, 0, 0] + opts + [UInt8](repeating: 1, count: (4 - opts.count % 4) % 4) + payload
        let packet = ipv4(fromServer ? server : client, fromServer ? client : server, proto: 6, tcp)
        if control & 4 != 0 {
            // ICMP destination/port unreachable from the receiver, quoting IP header + 8 bytes.
            let quoted = Array(packet.prefix(28))
            let icmp = ipv4(fromServer ? client : server, fromServer ? server : client, proto: 1,
                            [3, 3, 0, 0, 0, 0, 0, 0] + quoted)
            icmp.withUnsafeBytes { engine.feed($0, linkType: .raw, timestampNanos: t) }
            continue
        }
        let captured = control & 2 != 0 ? packet.count - payload.count / 2 : packet.count
        packet.withUnsafeBytes { raw in
            engine.feed(UnsafeRawBufferPointer(rebasing: raw[0..<captured]), linkType: .raw,
                        timestampNanos: t, originalLength: packet.count)
        }
    }
    let result = engine.finish()
    if options & 8 != 0 {
        _ = result.report(settings: []).json().serialized()
        _ = AnalyzeTableRenderer(color: false, timelines: true).render(result)
    }
    return 0
}
