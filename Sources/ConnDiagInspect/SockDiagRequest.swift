/// The dump request: a netlink header (SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP) and
/// struct inet_diag_req_v2 for TCP in every state, asking for INET_DIAG_INFO (struct
/// tcp_info) and INET_DIAG_CONG (the congestion control's name).
public enum SockDiagRequest {
    public static func dumpTCP(family: UInt8, sequence: UInt32) -> [UInt8] {
        var b: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) } }
        u32(16 + 56)                 // nlmsg_len
        u16(20)                      // nlmsg_type SOCK_DIAG_BY_FAMILY
        u16(0x001 | 0x300)           // NLM_F_REQUEST | NLM_F_DUMP
        u32(sequence)                // nlmsg_seq
        u32(0)                       // nlmsg_pid: the kernel answers to our port id
        b.append(family)             // sdiag_family
        b.append(6)                  // sdiag_protocol IPPROTO_TCP
        b.append(1 << (2 - 1) | 1 << (4 - 1))  // idiag_ext: INET_DIAG_INFO, INET_DIAG_CONG
        b.append(0)                  // pad
        u32(0xffff_ffff)             // idiag_states: every state
        b.append(contentsOf: [UInt8](repeating: 0, count: 48))  // inet_diag_sockid: no filter
        return b
    }
}
