import ConnDiagHTTP2

/// The fields of one decoded header block, copied out of nghttp2's memory into one reused
/// buffer: no allocation per field or per block once warmed up (a reference type over raw
/// memory, so adding a field is a bounds check and a memcpy). Strings are made only for
/// blocks whose event is kept.
final class HeaderScratch {
    private struct Span { var name: Int; var nameCount: Int; var value: Int; var valueCount: Int }
    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity = 4096
    private var used = 0
    private var spans: UnsafeMutablePointer<Span>
    private var spanCapacity = 64
    private(set) var count = 0

    init() {
        bytes = .allocate(byteCount: byteCapacity, alignment: 8)
        spans = .allocate(capacity: spanCapacity)
    }

    deinit {
        bytes.deallocate()
        spans.deallocate()
    }

    func reset() {
        used = 0
        count = 0
    }

    func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let need = used + name.count + value.count
        if need > byteCapacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: max(need, 2 * byteCapacity), alignment: 8)
            grown.copyMemory(from: bytes, byteCount: used)
            bytes.deallocate()
            bytes = grown
            byteCapacity = max(need, 2 * byteCapacity)
        }
        if count == spanCapacity {
            let grown = UnsafeMutablePointer<Span>.allocate(capacity: 2 * spanCapacity)
            grown.moveInitialize(from: spans, count: count)
            spans.deallocate()
            spans = grown
            spanCapacity *= 2
        }
        if let n = name.baseAddress, !name.isEmpty { (bytes + used).copyMemory(from: n, byteCount: name.count) }
        if let v = value.baseAddress, !value.isEmpty { (bytes + used + name.count).copyMemory(from: v, byteCount: value.count) }
        (spans + count).initialize(to: Span(name: used, nameCount: name.count, value: used + name.count, valueCount: value.count))
        used = need
        count += 1
    }

    /// The fields as strings (for a kept event).
    func headers() -> [HTTP2Header] {
        (0..<count).map { i in
            let sp = spans[i]
            return HTTP2Header(String(decoding: UnsafeRawBufferPointer(start: bytes + sp.name, count: sp.nameCount), as: UTF8.self),
                               String(decoding: UnsafeRawBufferPointer(start: bytes + sp.value, count: sp.valueCount), as: UTF8.self))
        }
    }

    static let grpcContentType: [UInt8] = Array("application/grpc".utf8)

    /// The header names the analysis looks at, recognised from their bytes.
    enum Known {
        case method, path, authority, status, contentType, grpcStatus, grpcMessage, other

        private static let names: [(Known, [UInt8])] = [
            (.method, Array(":method".utf8)), (.path, Array(":path".utf8)), (.authority, Array(":authority".utf8)),
            (.status, Array(":status".utf8)), (.contentType, Array("content-type".utf8)),
            (.grpcStatus, Array("grpc-status".utf8)), (.grpcMessage, Array("grpc-message".utf8)),
        ]

        init(_ name: UnsafeRawBufferPointer) {
            self = .other
            // Only these lengths can match; most names fail on the length or first byte.
            switch name.count {
            case 5, 7, 10, 11, 12: break
            default: return
            }
            let first = name[0]
            guard first == 0x3a || first == 0x63 || first == 0x67 else { return }  // ':' 'c' 'g'
            for (known, bytes) in Known.names where bytes.count == name.count && bytes.elementsEqual(name) {
                self = known
                return
            }
        }
    }
}
