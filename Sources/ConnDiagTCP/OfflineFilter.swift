import CPcap
import ConnDiagPacket

/// A `--filter` expression applied to packets read in place, compiled once per link type
/// (a pcapng file's interfaces may differ) against a dead libpcap handle and run with
/// pcap_offline_filter, as libpcap itself runs a filter on offline captures.
final class OfflineFilter {
    let expression: String
    private var lastLinkType: Int32 = -1
    private var lastProgram: UnsafeMutablePointer<bpf_program>?
    private var owned: [UnsafeMutablePointer<bpf_program>] = []

    init(expression: String) { self.expression = expression }

    deinit {
        for p in owned { pcap_freecode(p); p.deallocate() }
    }

    /// Throws the compiler's message when the expression is bad for `linkType` (the file's first).
    func check(linkType: LinkType) throws {
        if let message = compile(linkType.rawValue).error {
            throw CaptureError.failed("bad capture filter '\(expression)': \(message)")
        }
    }

    private func compile(_ linkType: Int32) -> (program: UnsafeMutablePointer<bpf_program>?, error: String?) {
        guard let dead = pcap_open_dead(linkType, 262_144) else { return (nil, "pcap_open_dead failed") }
        defer { pcap_close(dead) }
        let program = UnsafeMutablePointer<bpf_program>.allocate(capacity: 1)
        program.initialize(to: bpf_program())
        guard pcap_compile(dead, program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let message = String(cString: pcap_geterr(dead))
            program.deallocate()
            return (nil, message)
        }
        owned.append(program)
        return (program, nil)
    }

    /// True when the packet matches (the same-link-type case costs one comparison).
    func accepts(_ bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType) -> Bool {
        if linkType.rawValue != lastLinkType {
            lastLinkType = linkType.rawValue
            if let cached = cachedPrograms[linkType.rawValue] { lastProgram = cached }
            else {
                lastProgram = compile(linkType.rawValue).program
                cachedPrograms[linkType.rawValue] = lastProgram
            }
        }
        guard let program = lastProgram, let base = bytes.baseAddress else { return false }
        var header = pcap_pkthdr()
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(max(originalLength, bytes.count))
        return pcap_offline_filter(program, &header, base.assumingMemoryBound(to: UInt8.self)) != 0
    }

    /// Compiled programs by link type; nil where the expression does not compile for one
    /// (then none of its packets match, as none could).
    private var cachedPrograms: [Int32: UnsafeMutablePointer<bpf_program>?] = [:]
}
