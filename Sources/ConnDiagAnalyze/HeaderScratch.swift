import ConnDiagHTTP2
import Glibc

/// analyze's per-session header buffer (one reused `HeaderFieldBuffer`), and the header
/// names the analysis looks at, recognised from their bytes.
typealias HeaderScratch = HeaderFieldBuffer

extension HeaderFieldBuffer {
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
