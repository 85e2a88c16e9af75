import ConnDiagHTTP2

/// The fields of one decoded header block, copied out of nghttp2's memory into one reused
/// byte buffer: no allocation per field or per block once warmed up. Strings are made only
/// for the values a stream keeps and for blocks whose event is kept.
struct HeaderScratch {
    private var bytes: [UInt8] = []
    private var spans: [(name: Int, nameCount: Int, value: Int, valueCount: Int)] = []

    var count: Int { spans.count }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
    }

    mutating func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let start = bytes.count
        // Typed views take Array's contiguous (memcpy) path.
        bytes.append(contentsOf: name.assumingMemoryBound(to: UInt8.self))
        bytes.append(contentsOf: value.assumingMemoryBound(to: UInt8.self))
        spans.append((start, name.count, start + name.count, value.count))
    }

    /// Field `i` as views into the buffer, valid only during `body`.
    func withField<R>(_ i: Int, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> R) -> R {
        let sp = spans[i]
        return bytes.withUnsafeBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[sp.name..<(sp.name + sp.nameCount)]),
                 UnsafeRawBufferPointer(rebasing: raw[sp.value..<(sp.value + sp.valueCount)]))
        }
    }

    /// The fields as strings (for a kept event).
    func headers() -> [HTTP2Header] {
        (0..<count).map { i in
            withField(i) { name, value in
                HTTP2Header(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
            }
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
