/// One TCP socket as sock_diag reported it (struct inet_diag_msg plus the INET_DIAG_INFO
/// and INET_DIAG_CONG attributes), in host byte order.
public struct SockDiagSocket: Sendable, Equatable {
    public var family: UInt8
    public var state: TCPState
    public var timer: SockDiagTimer
    /// idiag_retrans: retransmissions (retransmit timer) or probes out (keepalive/zero window).
    public var timerRetransmits: UInt8
    /// idiag_expires: milliseconds until the armed timer fires.
    public var expiresMs: UInt32
    public var localAddress: [UInt8]
    public var localPort: UInt16
    public var remoteAddress: [UInt8]
    public var remotePort: UInt16
    public var interface: UInt32
    public var cookie: UInt64
    public var receiveQueue: UInt32
    public var sendQueue: UInt32
    public var uid: UInt32
    public var inode: UInt32
    /// nil when the kernel sent no INET_DIAG_INFO (TIME_WAIT and request sockets have none).
    public var info: TCPInfoFields?
    public var congestion: String?

    public init(family: UInt8, state: TCPState, timer: SockDiagTimer, timerRetransmits: UInt8, expiresMs: UInt32,
                localAddress: [UInt8], localPort: UInt16, remoteAddress: [UInt8], remotePort: UInt16,
                interface: UInt32 = 0, cookie: UInt64 = 0, receiveQueue: UInt32 = 0, sendQueue: UInt32 = 0,
                uid: UInt32 = 0, inode: UInt32 = 0, info: TCPInfoFields? = nil, congestion: String? = nil) {
        self.family = family; self.state = state; self.timer = timer; self.timerRetransmits = timerRetransmits
        self.expiresMs = expiresMs; self.localAddress = localAddress; self.localPort = localPort
        self.remoteAddress = remoteAddress; self.remotePort = remotePort; self.interface = interface
        self.cookie = cookie; self.receiveQueue = receiveQueue; self.sendQueue = sendQueue; self.uid = uid
        self.inode = inode; self.info = info; self.congestion = congestion
    }

    /// "10.0.0.1:5432" or "[::1]:5432".
    public var local: String { SockDiagSocket.endpoint(localAddress, localPort) }
    public var remote: String { SockDiagSocket.endpoint(remoteAddress, remotePort) }

    static func endpoint(_ address: [UInt8], _ port: UInt16) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") + ":\(port)" }
        return "[\(IPv6Text.format(address))]:\(port)"
    }
}

/// The TCP states as the kernel numbers them (include/net/tcp_states.h). Open: an unknown
/// number still prints.
public struct TCPState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let established = TCPState(rawValue: 1)
    public static let synSent = TCPState(rawValue: 2)
    public static let synRecv = TCPState(rawValue: 3)
    public static let finWait1 = TCPState(rawValue: 4)
    public static let finWait2 = TCPState(rawValue: 5)
    public static let timeWait = TCPState(rawValue: 6)
    public static let close = TCPState(rawValue: 7)
    public static let closeWait = TCPState(rawValue: 8)
    public static let lastAck = TCPState(rawValue: 9)
    public static let listen = TCPState(rawValue: 10)
    public static let closing = TCPState(rawValue: 11)
    public static let newSynRecv = TCPState(rawValue: 12)

    static let names = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
                        "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]
    public var description: String {
        (1...12).contains(Int(rawValue)) ? TCPState.names[Int(rawValue) - 1] : "STATE_\(rawValue)"
    }
    /// Parses ESTABLISHED, established, syn-sent, SYN_SENT ...
    public init?(name: String) {
        let n = name.uppercased().replacingDashes()
        guard let i = TCPState.names.firstIndex(of: n) else { return nil }
        rawValue = UInt8(i + 1)
    }
}

/// idiag_timer: which timer is armed.
public struct SockDiagTimer: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let none = SockDiagTimer(rawValue: 0)
    public static let retransmit = SockDiagTimer(rawValue: 1)
    public static let keepalive = SockDiagTimer(rawValue: 2)
    public static let timeWait = SockDiagTimer(rawValue: 3)
    public static let zeroWindowProbe = SockDiagTimer(rawValue: 4)
    public var description: String {
        switch self {
        case .none: return "none"
        case .retransmit: return "retransmit"
        case .keepalive: return "keepalive"
        case .timeWait: return "time-wait"
        case .zeroWindowProbe: return "zero-window-probe"
        default: return "timer-\(rawValue)"
        }
    }
}

extension String {
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}

/// RFC 5952 text for a 16-byte address, without Foundation or inet_ntop.
enum IPv6Text {
    static func format(_ b: [UInt8]) -> String {
        guard b.count == 16 else { return b.map { String($0) }.joined(separator: ".") }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            return "::ffff:" + b[12...].map(String.init).joined(separator: ".")
        }
        let words = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        // The longest run of two or more zero words becomes "::".
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if words[i] == 0 {
                var j = i
                while j < 8 && words[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ r: ArraySlice<UInt16>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(words[...]) }
        return hex(words[0..<bestStart]) + "::" + hex(words[(bestStart + bestLength)...])
    }
}
