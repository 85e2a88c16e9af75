import Glibc
import CPcap
import ConnDiagCore
import ConnDiagPacket
import ConnDiagPlatform

/// One captured packet; `bytes` is valid only inside the handler it is passed to.
public struct CapturedPacket {
    /// CLOCK_REALTIME nanoseconds.
    public var timestampNanos: Int64
    public var bytes: UnsafeRawBufferPointer
    /// Length on the wire (may exceed `bytes.count` when snaplen cut it).
    public var originalLength: Int
    /// The packet's own link type when it may differ from the capture's (a pcapng file whose
    /// interfaces have different link types); nil: the capture's `linkType`.
    public var linkType: LinkType?
    /// The pcapng interface it was captured on (0 for other captures): with the file, the
    /// capture point that saw it.
    public var interface: Int

    public init(timestampNanos: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int, linkType: LinkType? = nil, interface: Int = 0) {
        self.timestampNanos = timestampNanos
        self.bytes = bytes
        self.originalLength = originalLength
        self.linkType = linkType
        self.interface = interface
    }
}

/// Why a capture could not start. `permissionDenied` lets the engine fall back to
/// socket-level events with a one-line hint.
public enum CaptureError: Error, CustomStringConvertible {
    case permissionDenied(String)
    case failed(String)
    public var description: String {
        switch self {
        case .permissionDenied(let m), .failed(let m): return m
        }
    }
}

/// libpcap live or offline capture: immediate mode, nanosecond timestamps, non-blocking,
/// so it can be polled beside the socket on one thread.
public final class PacketCapture {
    private var handle: OpaquePointer?
    public let linkType: LinkType
    private let nanoPrecision: Bool
    private var dumper: OpaquePointer?
    public let source: String
    /// The stdio buffer of an offline file opened here (freed after pcap_close).
    private var fileBuffer: UnsafeMutableRawPointer?
    /// The bytes behind an in-memory capture (`openOffline(bytes:)`), freed after the handle.
    private var memory: UnsafeMutableRawPointer?
    /// A classic pcap file's records, read in place until something needs libpcap (a filter,
    /// a dump file, a record libpcap would cut or reject); then libpcap reads on.
    private var fileReader: ClassicPcapReader?
    /// A pcapng file's blocks, read in place to the end (libpcap cannot read files whose
    /// interfaces differ in link type); a `--filter` is then applied here (`OfflineFilter`).
    private var pcapngReader: PcapngReader?
    /// Called with each pcapng Decryption Secrets Block (secrets type, bytes valid during the
    /// call) as the file is read; libpcap (stdin, classic pcap) has none to give.
    public var onDecryptionSecrets: ((UInt32, UnsafeRawBufferPointer) -> Void)? {
        didSet { pcapngReader?.onDecryptionSecrets = onDecryptionSecrets }
    }
    private var offlineFilter: OfflineFilter?

    private init(handle: OpaquePointer, nano: Bool, source: String) {
        self.handle = handle
        self.nanoPrecision = nano
        self.linkType = LinkType(rawValue: pcap_datalink(handle))
        self.source = source
    }

    deinit { close() }

    /// Opens `interface` live with `filter` compiled into BPF.
    /// `immediate` false (watch under load): libpcap uses TPACKET_V3, whose blocks pack packets
    /// by their size instead of one snaplen-sized slot each, and hands a block over when it is
    /// full or `timeoutMs` after its first packet.
    public static func openLive(interface: String, filter: String, snaplen: Int32 = 262_144, bufferSize: Int32 = 4 << 20,
                                immediate: Bool = true, timeoutMs: Int32 = 10) throws -> PacketCapture {
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_create(interface, &err) else {
            throw CaptureError.failed("pcap_create(\(interface)): \(String(cString: err))")
        }
        pcap_set_snaplen(h, snaplen)
        pcap_set_promisc(h, 0)
        pcap_set_immediate_mode(h, immediate ? 1 : 0)
        pcap_set_timeout(h, timeoutMs)
        pcap_set_buffer_size(h, bufferSize)
        let nano = pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO)) == 0
        let rc = pcap_activate(h)
        if rc < 0 {
            let message = String(cString: pcap_geterr(h))
            pcap_close(h)
            if rc == PCAP_ERROR_PERM_DENIED || message.contains("Operation not permitted") {
                throw CaptureError.permissionDenied("no permission to capture on \(interface) (needs CAP_NET_RAW: run as root or `setcap cap_net_raw+ep $(which conndiag)`)")
            }
            throw CaptureError.failed("pcap_activate(\(interface)): \(message)")
        }
        let capture = PacketCapture(handle: h, nano: nano, source: interface)
        try capture.setFilter(filter)
        var e2 = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        if pcap_setnonblock(h, 1, &e2) != 0 {
            throw CaptureError.failed("pcap_setnonblock: \(String(cString: e2))")
        }
        return capture
    }

    /// Opens a pcap or pcapng file ("-" for stdin), nanosecond timestamps.
    /// A classic pcap file's records are read in place (`ClassicPcapReader`) until something
    /// needs libpcap. What libpcap reads goes through a 1 MiB stdio buffer: libpcap freads
    /// record by record, and with the default 4 KiB buffer that is a read(2) every few packets.
    public static func openOffline(path: String) throws -> PacketCapture {
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        if path == "-" {
            // Standard input stays with libpcap (so a pcapng stream whose interfaces differ in
            // link type stops at the first packet of another link type). Both readers here
            // pread a seekable file, and choosing between them and libpcap needs the magic
            // number: bytes read from a pipe cannot be given back to libpcap, nor can
            // ClassicPcapReader hand a record over to it. Reading stdin with them needs a
            // read(2)-based source that notices EINTR (the interrupt between packets) and a
            // capture without a libpcap handle; until then, save the stream to a file first.
            guard let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err) else {
                throw ConnDiagError.badInput("\(path): \(String(cString: err))")
            }
            return PacketCapture(handle: h, nano: true, source: path)
        }
        // As pcap_open_offline does (same error text), plus the buffer before the first read.
        guard let file = fopen(path, "rb") else {
            throw ConnDiagError.badInput("\(path): \(String(cString: strerror(errno)))")
        }
        // A pcapng file is read by PcapngReader once libpcap has read its first blocks, so
        // libpcap's buffer can stay small (a 1 MiB allocation is a fresh mmap each time).
        let size = PcapngReader.startsWithSectionHeader(fd: fileno(file)) ? 64 << 10 : 1 << 20
        let buffer = malloc(size)
        if let buffer { setvbuf(file, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, size) }
        guard let h = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err) else {
            fclose(file)
            free(buffer)
            throw ConnDiagError.badInput("\(path): \(String(cString: err))")
        }
        let capture = PacketCapture(handle: h, nano: true, source: path)
        capture.fileBuffer = buffer
        capture.fileReader = ClassicPcapReader(fd: fileno(file))
        if capture.fileReader == nil { capture.pcapngReader = PcapngReader(fd: fileno(file)) }
        return capture
    }

    /// Opens a pcap or pcapng file held in memory (the bytes are copied), nanosecond
    /// timestamps; libpcap reads it through fmemopen exactly as it reads a file.
    public static func openOffline(bytes: UnsafeRawBufferPointer, source: String = "memory") throws -> PacketCapture {
        let size = max(bytes.count, 1)
        guard let memory = malloc(size) else { throw ConnDiagError.badInput("\(source): out of memory") }
        if let base = bytes.baseAddress, bytes.count > 0 { memcpy(memory, base, bytes.count) }
        guard let file = fmemopen(memory, bytes.count, "rb") else {
            free(memory)
            throw ConnDiagError.badInput("\(source): fmemopen: \(ErrnoName.message(errno))")
        }
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err) else {
            fclose(file)  // on failure libpcap leaves the FILE open
            free(memory)
            throw ConnDiagError.badInput("\(source): \(String(cString: err))")
        }
        let capture = PacketCapture(handle: h, nano: true, source: source)
        capture.memory = memory
        return capture
    }

    /// From the next record on, libpcap reads the file (from `offset`: where the records
    /// read in place end).
    private func handOverToLibpcap(at offset: Int) {
        guard fileReader != nil else { return }
        fileReader = nil
        if let h = handle, let file = pcap_file(h) { fseeko(file, off_t(offset), SEEK_SET) }
    }

    private func handOverToLibpcap() {
        if let r = fileReader { handOverToLibpcap(at: r.nextRecordOffset) }
    }

    public func setFilter(_ filter: String) throws {
        guard let h = handle, !filter.isEmpty else { return }
        if pcapngReader != nil {
            let f = OfflineFilter(expression: filter)
            try f.check(linkType: linkType)
            offlineFilter = f
            return
        }
        handOverToLibpcap()
        var program = bpf_program()
        guard pcap_compile(h, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError.failed("bad capture filter '\(filter)': \(String(cString: pcap_geterr(h)))")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(h, &program) == 0 else {
            throw CaptureError.failed("pcap_setfilter: \(String(cString: pcap_geterr(h)))")
        }
    }

    /// The fd to poll for readability (live captures).
    public var selectableFD: Int32 { handle.map { pcap_get_selectable_fd($0) } ?? -1 }

    /// Saves every packet read from now on to `path` (pcap format, mode 0600 when created).
    public func startWriting(to path: String) throws {
        guard let h = handle else { return }
        handOverToLibpcap()
        // libpcap's own position is still after the headers it read at open while no packet
        // was read in place; after that, the dump file cannot take mixed link types anyway.
        if let r = pcapngReader, !r.handedOut { pcapngReader = nil; offlineFilter = nil }
        let fd: Int32
        switch Syscall.result("open(\(path))", { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }) {
        case .value(let opened): fd = opened
        case .error(let e): throw ConnDiagError.usage("--write-pcap \(path): \(ErrnoName.message(e.errno.rawValue))")
        case .wouldBlock, .interrupted: throw ConnDiagError.usage("--write-pcap \(path): cannot open")
        }
        guard let file = fdopen(fd, "wb"), let d = pcap_dump_fopen(h, file) else {
            Glibc.close(fd)
            throw ConnDiagError.usage("--write-pcap \(path): \(String(cString: pcap_geterr(h)))")
        }
        dumper = d
    }

    public enum ReadStatus { case more, drained, endOfFile, error(String) }

    /// Reads up to `limit` packets that are ready, calling `handler` for each.
    @discardableResult
    public func read(limit: Int = 1000, _ handler: (CapturedPacket) -> Void) -> ReadStatus {
        guard let h = handle else { return .endOfFile }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var left = limit
        if pcapngReader != nil {
            while left > 0 {
                switch next() {
                case .packet(let packet): left -= 1; handler(packet)
                case .endOfFile: return .endOfFile
                case .error(let message): return .error(message)
                }
            }
            return .more
        }
        if let reader = fileReader {
            while left > 0 {
                switch reader.next() {
                case .record(let r):
                    left -= 1
                    handler(CapturedPacket(timestampNanos: r.timestampNanos, bytes: r.bytes, originalLength: r.originalLength))
                case .endOfFile:
                    return .endOfFile
                case .handOver(let offset):
                    handOverToLibpcap(at: offset)
                    return read(limit: left, handler)
                }
            }
            return .more
        }
        for _ in 0..<left {
            let rc = pcap_next_ex(h, &header, &data)
            switch rc {
            case 1:
                guard let hd = header, let d = data else { continue }
                if let dumper { pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), hd, d) }
                let packet = CapturedPacket(
                    timestampNanos: CPcap_timestampNanoseconds(hd, nanoPrecision ? 1 : 0),
                    bytes: UnsafeRawBufferPointer(start: d, count: Int(hd.pointee.caplen)),
                    originalLength: Int(hd.pointee.len))
                handler(packet)
            case 0: return .drained
            case -2: return .endOfFile
            default: return .error(String(cString: pcap_geterr(h)))
            }
        }
        return .more
    }

    public enum NextPacket { case packet(CapturedPacket), endOfFile, error(String) }

    /// The next packet of an offline capture, one at a time (merging several files by
    /// timestamp): its bytes stay valid until the next call on this capture.
    public func next() -> NextPacket {
        if let reader = pcapngReader {
            while true {
                switch reader.next() {
                case .record(let r):
                    if let f = offlineFilter, !f.accepts(r.bytes, originalLength: r.originalLength, linkType: r.linkType) { continue }
                    return .packet(CapturedPacket(timestampNanos: r.timestampNanos, bytes: r.bytes,
                                                  originalLength: r.originalLength, linkType: r.linkType, interface: r.interface))
                case .endOfFile: return .endOfFile
                case .failed(let message): return .error(message)
                }
            }
        }
        var result = NextPacket.endOfFile
        while true {
            switch read(limit: 1, { result = .packet($0) }) {
            case .more: return result
            case .drained: continue
            case .endOfFile: return .endOfFile
            case .error(let message): return .error(message)
            }
        }
    }

    /// (received, dropped by the kernel) so far, for live captures.
    public func statistics() -> (received: UInt32, dropped: UInt32)? {
        guard let h = handle else { return nil }
        var s = pcap_stat()
        guard pcap_stats(h, &s) == 0 else { return nil }
        return (s.ps_recv, s.ps_drop)
    }

    /// Flushes and closes the dump file, then the capture.
    public func close() {
        stopWriting()
        fileReader = nil
        pcapngReader = nil
        offlineFilter = nil
        if let h = handle { pcap_close(h); handle = nil }
        if let b = fileBuffer { free(b); fileBuffer = nil }
        if let m = memory { free(m); memory = nil }
    }

    public func flush() { if let d = dumper { pcap_dump_flush(d) } }

    /// Flushes and closes the dump file; the capture stays open.
    public func stopWriting() {
        if let d = dumper { pcap_dump_flush(d); pcap_dump_close(d); dumper = nil }
    }
}

extension PacketCapture {
    /// BPF for one TCP flow plus the ICMP errors that may quote it.
    public static func flowFilter(local: SocketAddress, remote: SocketAddress) -> String {
        let tcp = "(tcp and host \(remote.ip) and port \(remote.port) and port \(local.port))"
        if remote.ip.isIPv6 {
            // ip6[40] is the ICMPv6 type when no extension header precedes it.
            return "\(tcp) or (icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3 or ip6[40] == 4))"
        }
        return "\(tcp) or (icmp and (icmp[0] == 3 or icmp[0] == 4 or icmp[0] == 11 or icmp[0] == 12))"
    }
}
