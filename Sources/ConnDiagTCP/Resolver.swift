import Glibc
import ConnDiagCore
import ConnDiagPacket

/// A user's target: `host:port`, `[v6]:port` or `v4:port`.
public struct TargetSpec: Sendable, Equatable {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) { self.host = host; self.port = port }

    /// Parses the text; errors are usage errors with a one-line message.
    public init(parsing text: String, defaultPort: UInt16? = nil) throws {
        var hostPart: Substring
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ConnDiagError.usage("target '\(text)': missing ']' after an IPv6 address") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw ConnDiagError.usage("target '\(text)': expected ':PORT' after ']'") }
                portPart = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else if text.contains(":") {
            throw ConnDiagError.usage("target '\(text)': write IPv6 addresses as [ADDRESS]:PORT")
        } else {
            hostPart = Substring(text)
        }
        guard !hostPart.isEmpty else { throw ConnDiagError.usage("target '\(text)': missing host") }
        if let p = portPart {
            guard let n = Int(p), n >= 1, n <= 65535 else { throw ConnDiagError.usage("target '\(text)': port must be a number from 1 to 65535") }
            port = UInt16(n)
        } else if let d = defaultPort {
            port = d
        } else {
            throw ConnDiagError.usage("target '\(text)': missing port (HOST:PORT)")
        }
        host = String(hostPart)
    }
}

public enum AddressFamilyChoice: String, Sendable { case any, v4, v6 }

/// Name resolution through getaddrinfo (so /etc/hosts and nsswitch apply, as for the user's
/// own programs).
public enum Resolver {
    /// Every distinct address of `host`, in getaddrinfo's order. Literal addresses skip DNS.
    public static func resolve(_ host: String, family: AddressFamilyChoice = .any) throws -> [IPAddress] {
        if let literal = IPAddress(host) {
            if family == .v4 && literal.isIPv6 { throw ConnDiagError.usage("'\(host)' is an IPv6 address but -4 was given") }
            if family == .v6 && !literal.isIPv6 { throw ConnDiagError.usage("'\(host)' is an IPv4 address but -6 was given") }
            return [literal]
        }
        var hints = addrinfo()
        hints.ai_family = family == .v4 ? AF_INET : (family == .v6 ? AF_INET6 : AF_UNSPEC)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0 else {
            let why = String(cString: gai_strerror(rc))
            throw ConnDiagError.usage("cannot resolve '\(host)': \(why)")
        }
        defer { freeaddrinfo(result) }
        var out: [IPAddress] = []
        var p = result
        while let ai = p {
            if let addr = ai.pointee.ai_addr, let sa = SocketAddress(storage: addr), !out.contains(sa.ip) {
                out.append(sa.ip)
            }
            p = ai.pointee.ai_next
        }
        guard !out.isEmpty else { throw ConnDiagError.usage("cannot resolve '\(host)': no addresses") }
        return out
    }
}
