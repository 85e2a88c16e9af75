import FuzzMain
import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagOutput
import ConnDiagTCP

// Input: a whole pcap or pcapng file, read from memory by libpcap (fmemopen) and analysed
// as `conndiag analyze` does, down to the JSON report and the table with timelines.
@_cdecl("FuzzCaptureReader_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let engine = AnalyzeEngine(options: AnalyzeOptions(files: ["fuzz.pcap"], maxConnections: 64))
    let capture: PacketCapture
    do {
        capture = try PacketCapture.openOffline(bytes: UnsafeRawBufferPointer(start: data, count: size), source: "fuzz.pcap")
    } catch {
        return 0  // not a capture: a clean error, as for a file
    }
    defer { capture.close() }
    do { try engine.read(capture, name: "fuzz.pcap") } catch { preconditionFailure("read threw without a filter: \(error)") }
    let result = engine.finish()
    // Rendering (the verdicts, JSON, the table) halves the executions per second: inputs
    // whose last byte is even pay for it, the others stop at the analysis.
    if data[size - 1] & 1 == 0 {
        _ = result.report(settings: []).json().serialized()
        _ = AnalyzeTableRenderer(color: false, timelines: true).render(result)
    }
    return 0
}
