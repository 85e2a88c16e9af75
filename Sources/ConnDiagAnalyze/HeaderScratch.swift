import ConnDiagHTTP2
import Glibc

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

        @inline(__always)
        private static func equals(_ a: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
            a.count == s.utf8CodeUnitCount && memcmp(a.baseAddress!, s.utf8Start, a.count) == 0
        }

        init(_ name: UnsafeRawBufferPointer) {
            // By length first: most names are rejected without reading a byte.
            switch name.count {
            case 5: self = Known.equals(name, ":path") ? .path : .other
            case 7: self = Known.equals(name, ":method") ? .method : Known.equals(name, ":status") ? .status : .other
            case 10: self = Known.equals(name, ":authority") ? .authority : .other
            case 11: self = Known.equals(name, "grpc-status") ? .grpcStatus : .other
            case 12: self = Known.equals(name, "content-type") ? .contentType : Known.equals(name, "grpc-message") ? .grpcMessage : .other
            default: self = .other
            }
        }
    }
}
