import Glibc
import ConnDiagCore

/// What to inspect and how: the process (or every socket of conndiag's namespace), the
/// filters, and for `--follow` how often and how long to watch.
public struct InspectConfig: Sendable {
    public enum Scope: Sendable, Equatable {
        case process(Int32)
        /// Every TCP socket of the namespace; with a pid, of that process's namespace.
        case all(namespaceOf: Int32?)
    }
    public var scope: Scope
    public var localPort: UInt16?
    /// Remote address bytes (4 or 16) and port.
    public var remoteAddress: [UInt8]?
    public var remotePort: UInt16?
    public var states: Set<TCPState>?
    /// A middlebox idle timeout the user names (--idle-timeout), for findings.
    public var idleTimeout: Double?
    public var follow = false
    public var interval: Double = 0.1
    public var duration: Double?
    /// With follow: a libpcap capture in the namespace for wire evidence.
    public var capture = false
    /// With follow: at most this many connections followed (the start's and new ones).
    public var maxFollowed = 10_000

    public init(scope: Scope) { self.scope = scope }

    func matches(_ s: SockDiagSocket) -> Bool {
        if let p = localPort, s.localPort != p && s.remotePort != p { return false }
        if let a = remoteAddress, !sameAddress(a, s.remoteAddress) { return false }
        if let p = remotePort, s.remotePort != p { return false }
        if let st = states, !st.contains(s.state) { return false }
        return true
    }

    /// An IPv4 address also matches its IPv4-mapped IPv6 form.
    func sameAddress(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        let mapped: ([UInt8]) -> [UInt8] = { [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + $0 }
        if a.count == 4 && b.count == 16 { return mapped(a) == b }
        if a.count == 16 && b.count == 4 { return a == mapped(b) }
        return false
    }
}

extension InspectConfig {
    /// "10.0.0.1:5432" or "[::1]:5432" → address bytes and port; nil when not an address.
    public static func parseRemote(_ text: String) -> (address: [UInt8], port: UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return (withUnsafeBytes(of: v4) { Array($0) }, port) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return (withUnsafeBytes(of: v6) { Array($0) }, port) }
        return nil
    }

    /// "established,syn-sent" → the states; nil when one is unknown.
    public static func parseStates(_ text: String) -> Set<TCPState>? {
        var out = Set<TCPState>()
        for name in text.split(separator: ",") {
            guard let s = TCPState(name: String(name)) else { return nil }
            out.insert(s)
        }
        return out.isEmpty ? nil : out
    }
}
