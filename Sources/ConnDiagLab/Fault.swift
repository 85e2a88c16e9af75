/// A failure the lab can inject for a port on the server side, with iptables inside the
/// server's namespace only.
public enum Fault: String, CaseIterable, Sendable {
    /// Nothing fault-like: a listening socket answers the handshake.
    case listening
    /// Packets to the port are dropped (a deleted pod's IP, a firewall that drops).
    case blackhole
    /// No listener: the kernel answers RST.
    case refuse
    /// A firewall rejects with TCP RST (REJECT --reject-with tcp-reset).
    case rejectReset = "reject-reset"
    /// A router/firewall answers ICMP host unreachable (ICMPv6 address unreachable).
    case icmpHostUnreachable = "icmp-host-unreachable"
    /// ICMP port unreachable.
    case icmpPortUnreachable = "icmp-port-unreachable"

    /// What the fault imitates, for the demo and --list.
    public var about: String {
        switch self {
        case .listening: return "a healthy listener: SYN, SYN-ACK, ACK"
        case .blackhole: return "every packet dropped, like a deleted pod's IP: SYN retries until the kernel gives up"
        case .refuse: return "a closed port: the peer's kernel answers RST at once"
        case .rejectReset: return "a firewall rejecting with a forged RST"
        case .icmpHostUnreachable: return "a router answering ICMP host unreachable"
        case .icmpPortUnreachable: return "a firewall answering ICMP port unreachable"
        }
    }

    /// iptables (or ip6tables) rule arguments for the INPUT chain, nil when none is needed.
    func rule(port: UInt16, ipv6: Bool) -> [String]? {
        let match = ["-p", "tcp", "--dport", String(port)]
        switch self {
        case .listening, .refuse: return nil
        case .blackhole: return match + ["-j", "DROP"]
        case .rejectReset: return match + ["-j", "REJECT", "--reject-with", "tcp-reset"]
        case .icmpHostUnreachable:
            return match + ["-j", "REJECT", "--reject-with", ipv6 ? "icmp6-addr-unreachable" : "icmp-host-unreachable"]
        case .icmpPortUnreachable:
            return match + ["-j", "REJECT", "--reject-with", ipv6 ? "icmp6-port-unreachable" : "icmp-port-unreachable"]
        }
    }
}
