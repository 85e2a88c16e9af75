import ConnDiagHTTP2

/// grpc.health.v1.Health/Check encoded by hand (no protobuf compiler): the request is
/// `HealthCheckRequest { string service = 1; }`, the response
/// `HealthCheckResponse { ServingStatus status = 1; }`.
public enum GRPCHealth {
    public static let method = "/grpc.health.v1.Health/Check"

    public enum Status: String, Sendable { case unknown = "UNKNOWN", serving = "SERVING", notServing = "NOT_SERVING", serviceUnknown = "SERVICE_UNKNOWN" }

    public static func request(service: String) -> [UInt8] {
        let name = Array(service.utf8)
        guard !name.isEmpty else { return [] }
        return [0x0A] + varint(UInt64(name.count)) + name
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            var b = UInt8(v & 0x7F); v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }

    /// Reads field 1 (varint) of a HealthCheckResponse; an empty message means UNKNOWN (0).
    public static func parse(response bytes: [UInt8]) -> Status? {
        var i = 0
        var status: UInt64 = 0
        while i < bytes.count {
            let key = bytes[i]; i += 1
            let field = key >> 3, wire = key & 7
            switch wire {
            case 0:
                var v: UInt64 = 0, shift: UInt64 = 0
                while i < bytes.count {
                    let b = bytes[i]; i += 1
                    v |= UInt64(b & 0x7F) << shift
                    if b & 0x80 == 0 { break }
                    shift += 7
                    if shift > 63 { return nil }
                }
                if field == 1 { status = v }
            case 2:
                var len: UInt64 = 0, shift: UInt64 = 0
                while i < bytes.count {
                    let b = bytes[i]; i += 1
                    len |= UInt64(b & 0x7F) << shift
                    if b & 0x80 == 0 { break }
                    shift += 7
                    if shift > 63 { return nil }
                }
                guard len <= UInt64(bytes.count - i) else { return nil }
                i += Int(len)
            default:
                return nil
            }
        }
        switch status {
        case 0: return .unknown
        case 1: return .serving
        case 2: return .notServing
        case 3: return .serviceUnknown
        default: return .unknown
        }
    }
}
