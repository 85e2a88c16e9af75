import Glibc
import ConnDiagCore
import ConnDiagPlatform

/// A NETLINK_SOCK_DIAG socket and the TCP dumps made on it. The kernel answers for the
/// network namespace the socket was created in, so `InspectedNamespace` opens it inside
/// the namespace to inspect and it can then be used from any thread.
public final class SockDiagDump {
    let fd: Int32
    var sequence: UInt32 = 1
    /// Bytes per recv(): the kernel fills up to this much with whole messages.
    static let bufferSize = 64 * 1024

    public init() throws {
        // AF_NETLINK 16, NETLINK_SOCK_DIAG 4.
        fd = try syscall("socket(AF_NETLINK, NETLINK_SOCK_DIAG)") { socket(16, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 4) }
    }

    deinit { close(fd) }

    /// Every TCP socket of the namespace, IPv4 then IPv6. Throws when the kernel refuses or
    /// answers with bytes that do not parse (ConnDiagError, exit 3 or 4).
    public func dumpTCP() throws -> [SockDiagSocket] {
        var sockets: [SockDiagSocket] = []
        for family: UInt8 in [2, 10] { try dump(family: family, into: &sockets) }
        return sockets
    }

    func dump(family: UInt8, into sockets: inout [SockDiagSocket]) throws {
        sequence &+= 1
        let request = SockDiagRequest.dumpTCP(family: family, sequence: sequence)
        let sent = request.withUnsafeBytes { raw in Syscall.result("send(sock_diag)") { send(fd, raw.baseAddress, raw.count, 0) } }
        if case .error(let e) = sent { throw ConnDiagError.environment("sock_diag request: \(e)") }
        var buffer = [UInt8](repeating: 0, count: SockDiagDump.bufferSize)
        while true {
            let got = buffer.withUnsafeMutableBytes { raw in
                Syscall.result("recv(sock_diag)") { recv(fd, raw.baseAddress, raw.count, 0) }
            }
            let n: Int
            switch got {
            case .value(let v): n = v
            case .error(let e): throw ConnDiagError.environment("sock_diag dump: \(e)")
            case .wouldBlock, .interrupted: throw ConnDiagError.environment("sock_diag dump: no answer")
            }
            if n == 0 { throw ConnDiagError.badInput("sock_diag dump ended without NLMSG_DONE") }
            for message in SockDiagParser.parse(Array(buffer[..<n])) {
                switch message {
                case .socket(let s): sockets.append(s)
                case .done: return
                case .error(let code):
                    // No IPv6 in this kernel or namespace: nothing to list for that family.
                    if code == ENOENT || code == EAFNOSUPPORT { return }
                    throw ConnDiagError.environment("sock_diag dump: \(ErrnoName.message(code)) (\(ErrnoName.name(code)))")
                case .invalid(let reason): throw ConnDiagError.badInput("sock_diag answer: \(reason)")
                }
            }
        }
    }
}
