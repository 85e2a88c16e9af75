/// ICMP (RFC 792) and ICMPv6 (RFC 4443).
///
///     0 type | 1 code | 2 checksum (2) | 4 rest of header (4) | 8 body
///
/// Error messages quote the offending packet in the body: ICMP its IPv4 header plus at least
/// 8 transport bytes (ports, and the TCP sequence number); ICMPv6 as much of the IPv6 packet
/// as fits, whose extension headers are walked too. The quote becomes a `QuotedFlow` holding
/// as much as was quoted. The message ends where the outer IP header says; a quote cut by
/// the capture is `.truncated`, one the sender made too short is `.invalid`.
/// "Fragmentation needed" (3/4) carries the next-hop MTU in bytes 6-7, ICMPv6 "packet too
/// big" in bytes 4-7: both go to `ICMPMessage.mtu`.
enum ICMP {
    static let headerLength = 8

    static func decode(_ ctx: DecodeContext, version: UInt8, at start: Int, end: Int, into p: inout DecodedPacket) {
        let b = ctx.bytes
        let layer: DecodeText = version == 4 ? "icmp" : "icmpv6"
        guard start &+ 4 <= end else {
            DecodeProblem.record(.invalid(layer: layer, reason: "IP payload shorter than an ICMP header"), in: &p)
            return
        }
        guard b.has(4, at: start) else { DecodeProblem.record(.truncated(layer: layer), in: &p); return }
        var message = ICMPMessage(version: version, type: ICMPType(rawValue: b[start]), code: b[start &+ 1])
        defer { p.transport = .icmp(message) }
        guard message.isError else { return }
        guard start &+ headerLength <= end else {
            DecodeProblem.record(.invalid(layer: layer, reason: "IP payload shorter than an ICMP header"), in: &p)
            return
        }
        guard b.has(headerLength, at: start) else { DecodeProblem.record(.truncated(layer: layer), in: &p); return }
        if version == 4, message.type == .destinationUnreachable, message.code == 4 {
            message.mtu = UInt32(b.u16(start &+ 6))
        } else if version == 6, message.type == .v6PacketTooBig {
            message.mtu = b.u32(start &+ 4)
        }
        let quote = start &+ headerLength
        let problem = version == 4 ? quoteIPv4(b, at: quote, end: end, into: &message.quoted)
                                   : quoteIPv6(b, at: quote, end: end, into: &message.quoted)
        if let problem { DecodeProblem.record(problem, in: &p) }
    }

    /// `.truncated` when the capture ended before `wanted` bytes but the ICMP message did not.
    private static func missing(_ b: UnsafeRawBufferPointer, wanted: Int, end: Int, layer: DecodeText) -> DecodeProblem? {
        b.count < min(wanted, end) ? .truncated(layer: layer) : nil
    }

    static func quoteIPv4(_ b: UnsafeRawBufferPointer, at q: Int, end: Int, into flow: inout QuotedFlow?) -> DecodeProblem? {
        guard q &+ IPv4.minimumHeaderLength <= end else {
            return .invalid(layer: "icmp", reason: "quoted IPv4 header too short")
        }
        guard b.has(IPv4.minimumHeaderLength, at: q) else { return .truncated(layer: "icmp") }
        guard b[q] >> 4 == 4 else { return .invalid(layer: "icmp", reason: "quoted packet is not IPv4") }
        let headerLength = Int(b[q] & 0x0F) &* 4
        guard headerLength >= IPv4.minimumHeaderLength else {
            return .invalid(layer: "icmp", reason: "quoted IPv4 header length (IHL) below 5")
        }
        let proto = b[q &+ 9]
        flow = QuotedFlow(source: IPAddress(v4: b, at: q &+ 12), destination: IPAddress(v4: b, at: q &+ 16),
                          protocolNumber: proto)
        let isLaterFragment = b.u16(q &+ 6) & 0x1FFF != 0
        guard !isLaterFragment, IPProtocol.hasPorts(proto) else { return nil }
        let t = q &+ headerLength
        quoteTransport(b, at: t, end: end, protocolNumber: proto, into: &flow)
        return missing(b, wanted: t &+ 8, end: end, layer: "icmp")
    }

    static func quoteIPv6(_ b: UnsafeRawBufferPointer, at q: Int, end: Int, into flow: inout QuotedFlow?) -> DecodeProblem? {
        guard q &+ IPv6.headerLength <= end else {
            return .invalid(layer: "icmpv6", reason: "quoted IPv6 header too short")
        }
        guard b.has(IPv6.headerLength, at: q) else { return .truncated(layer: "icmpv6") }
        guard b[q] >> 4 == 6 else { return .invalid(layer: "icmpv6", reason: "quoted packet is not IPv6") }
        // The quote is cut by the ICMPv6 sender wherever it reached the minimum MTU, so the
        // walk stops quietly at the end of the message: keep what the headers said so far.
        let walk = IPv6.walkExtensionHeaders(b, next: b[q &+ 6], at: q &+ IPv6.headerLength, end: end)
        flow = QuotedFlow(source: IPAddress(v6: b, at: q &+ 8), destination: IPAddress(v6: b, at: q &+ 24),
                          protocolNumber: walk.next)
        switch walk.status {
        case .truncated: return .truncated(layer: "icmpv6")
        case .beyondPayload: return nil
        case .complete: break
        }
        guard !walk.isLaterFragment, IPProtocol.hasPorts(walk.next) else { return nil }
        quoteTransport(b, at: walk.offset, end: end, protocolNumber: walk.next, into: &flow)
        return missing(b, wanted: walk.offset &+ 8, end: end, layer: "icmpv6")
    }

    /// Ports (first 4 bytes) and, for TCP, the sequence number (bytes 4-7), as far as quoted.
    private static func quoteTransport(_ b: UnsafeRawBufferPointer, at t: Int, end: Int, protocolNumber: UInt8,
                                       into flow: inout QuotedFlow?) {
        let available = min(end, b.count)
        if t &+ 2 <= available { flow?.sourcePort = b.u16(t) }
        if t &+ 4 <= available { flow?.destinationPort = b.u16(t &+ 2) }
        if protocolNumber == IPProtocol.tcp, t &+ 8 <= available { flow?.sequence = b.u32(t &+ 4) }
    }
}

// MARK: - Names

extension ICMPType {
    // ICMP (IPv4)
    public static let echoReply = ICMPType(rawValue: 0)
    public static let destinationUnreachable = ICMPType(rawValue: 3)
    public static let sourceQuench = ICMPType(rawValue: 4)
    public static let redirect = ICMPType(rawValue: 5)
    public static let echoRequest = ICMPType(rawValue: 8)
    public static let routerAdvertisement = ICMPType(rawValue: 9)
    public static let routerSolicitation = ICMPType(rawValue: 10)
    public static let timeExceeded = ICMPType(rawValue: 11)
    public static let parameterProblem = ICMPType(rawValue: 12)
    public static let timestampRequest = ICMPType(rawValue: 13)
    public static let timestampReply = ICMPType(rawValue: 14)

    // ICMPv6 (the numbers overlap with ICMP: compare only when `version == 6`)
    public static let v6DestinationUnreachable = ICMPType(rawValue: 1)
    public static let v6PacketTooBig = ICMPType(rawValue: 2)
    public static let v6TimeExceeded = ICMPType(rawValue: 3)
    public static let v6ParameterProblem = ICMPType(rawValue: 4)
    public static let v6EchoRequest = ICMPType(rawValue: 128)
    public static let v6EchoReply = ICMPType(rawValue: 129)
    public static let v6RouterSolicitation = ICMPType(rawValue: 133)
    public static let v6RouterAdvertisement = ICMPType(rawValue: 134)
    public static let v6NeighborSolicitation = ICMPType(rawValue: 135)
    public static let v6NeighborAdvertisement = ICMPType(rawValue: 136)
    public static let v6Redirect = ICMPType(rawValue: 137)

    /// Whether this type is an error message that quotes the offending packet.
    public func isError(version: UInt8) -> Bool {
        if version == 6 { return rawValue >= 1 && rawValue <= 4 }
        return self == .destinationUnreachable || self == .timeExceeded || self == .parameterProblem
            || self == .sourceQuench || self == .redirect
    }

    /// A short lowercase name ("destination unreachable", "packet too big"), or "type N".
    public func name(version: UInt8) -> String {
        if version == 6 {
            switch self {
            case .v6DestinationUnreachable: return "destination unreachable"
            case .v6PacketTooBig: return "packet too big"
            case .v6TimeExceeded: return "time exceeded"
            case .v6ParameterProblem: return "parameter problem"
            case .v6EchoRequest: return "echo request"
            case .v6EchoReply: return "echo reply"
            case .v6RouterSolicitation: return "router solicitation"
            case .v6RouterAdvertisement: return "router advertisement"
            case .v6NeighborSolicitation: return "neighbor solicitation"
            case .v6NeighborAdvertisement: return "neighbor advertisement"
            case .v6Redirect: return "redirect"
            default: return "type \(rawValue)"
            }
        }
        switch self {
        case .echoReply: return "echo reply"
        case .destinationUnreachable: return "destination unreachable"
        case .sourceQuench: return "source quench"
        case .redirect: return "redirect"
        case .echoRequest: return "echo request"
        case .routerAdvertisement: return "router advertisement"
        case .routerSolicitation: return "router solicitation"
        case .timeExceeded: return "time exceeded"
        case .parameterProblem: return "parameter problem"
        case .timestampRequest: return "timestamp request"
        case .timestampReply: return "timestamp reply"
        default: return "type \(rawValue)"
        }
    }
}

extension ICMPMessage {
    /// Whether this is an error message (it quotes the offending packet).
    public var isError: Bool { type.isError(version: version) }

    /// The type's name, e.g. "destination unreachable".
    public var typeName: String { type.name(version: version) }

    /// The errno a Linux TCP socket gets from this message (tcp_v4_err with icmp_err_convert,
    /// tcp_v6_err with icmpv6_err_convert), or nil when TCP ignores it (source quench,
    /// redirects, informational messages, unknown unreachable codes) or uses it for path MTU
    /// discovery (ICMP 3/4, ICMPv6 packet too big). In SYN-SENT any of these aborts connect();
    /// on an established connection it is a soft error, reported if the connection later
    /// times out.
    public var linuxErrnoName: String? { Self.linuxErrnoName(version: version, type: type.rawValue, code: code) }

    public static func linuxErrnoName(version: UInt8, type: UInt8, code: UInt8) -> String? {
        if version == 6 {
            switch type {
            case 1:                                            // destination unreachable
                switch code {
                case 0: return "ENETUNREACH"                   // no route
                case 1: return "EACCES"                        // administratively prohibited
                case 2: return "EHOSTUNREACH"                  // beyond scope (was: not a neighbour)
                case 3: return "EHOSTUNREACH"                  // address unreachable
                case 4: return "ECONNREFUSED"                  // port unreachable
                case 5, 6: return "EACCES"                     // policy failure, reject route
                default: return "EPROTO"
                }
            case 2: return nil                                 // packet too big: PMTU
            case 3: return "EHOSTUNREACH"                      // time exceeded
            case 4: return "EPROTO"                            // parameter problem
            case 0..<128: return "EPROTO"                      // unknown error type
            default: return nil                                // informational
            }
        }
        switch type {
        case 3:
            switch code {
            case 0: return "ENETUNREACH"
            case 1: return "EHOSTUNREACH"
            case 2: return "ENOPROTOOPT"
            case 3: return "ECONNREFUSED"
            case 4: return nil                                 // fragmentation needed: PMTU
            case 5: return "EOPNOTSUPP"                        // source route failed
            case 6: return "ENETUNREACH"                       // network unknown
            case 7: return "EHOSTDOWN"                         // host unknown
            case 8: return "ENONET"                            // host isolated
            case 9: return "ENETUNREACH"                       // network prohibited
            case 10: return "EHOSTUNREACH"                     // host prohibited
            case 11: return "ENETUNREACH"                      // network unreachable for TOS
            case 12: return "EHOSTUNREACH"                     // host unreachable for TOS
            case 13, 14, 15: return "EHOSTUNREACH"             // filtered, precedence
            default: return nil                                // > NR_ICMP_UNREACH: ignored
            }
        case 11: return "EHOSTUNREACH"                         // time exceeded
        case 12: return "EPROTO"                               // parameter problem
        default: return nil                                    // source quench, redirect, ...
        }
    }

    /// What the code means, e.g. "host unreachable", "port unreachable", "admin prohibited";
    /// for types without codes, the type's name.
    public var codeDescription: String {
        Self.codeDescription(version: version, type: type.rawValue, code: code) ?? "\(typeName) code \(code)"
    }

    static func codeDescription(version: UInt8, type: UInt8, code: UInt8) -> String? {
        if version == 6 {
            switch (type, code) {
            case (1, 0): return "no route to destination"
            case (1, 1): return "admin prohibited"
            case (1, 2): return "beyond scope of source address"
            case (1, 3): return "address unreachable"
            case (1, 4): return "port unreachable"
            case (1, 5): return "source address failed ingress/egress policy"
            case (1, 6): return "reject route to destination"
            case (1, 7): return "error in source routing header"
            case (1, 8): return "headers too long"
            case (2, _): return "packet too big"
            case (3, 0): return "hop limit exceeded in transit"
            case (3, 1): return "fragment reassembly time exceeded"
            case (4, 0): return "erroneous header field"
            case (4, 1): return "unrecognized next header"
            case (4, 2): return "unrecognized IPv6 option"
            case (4, 3): return "first fragment has incomplete header chain"
            case (1...4, _): return nil
            default: return ICMPType(rawValue: type).name(version: 6)
            }
        }
        switch (type, code) {
        case (3, 0): return "net unreachable"
        case (3, 1): return "host unreachable"
        case (3, 2): return "protocol unreachable"
        case (3, 3): return "port unreachable"
        case (3, 4): return "fragmentation needed"
        case (3, 5): return "source route failed"
        case (3, 6): return "net unknown"
        case (3, 7): return "host unknown"
        case (3, 8): return "source host isolated"
        case (3, 9): return "net admin prohibited"
        case (3, 10): return "host admin prohibited"
        case (3, 11): return "net unreachable for TOS"
        case (3, 12): return "host unreachable for TOS"
        case (3, 13): return "admin prohibited"
        case (3, 14): return "host precedence violation"
        case (3, 15): return "precedence cutoff"
        case (5, 0): return "redirect for network"
        case (5, 1): return "redirect for host"
        case (5, 2): return "redirect for TOS and network"
        case (5, 3): return "redirect for TOS and host"
        case (11, 0): return "TTL exceeded in transit"
        case (11, 1): return "fragment reassembly time exceeded"
        case (12, 0): return "pointer indicates the error"
        case (12, 1): return "missing a required option"
        case (12, 2): return "bad length"
        case (3, _), (5, _), (11, _), (12, _): return nil
        default: return ICMPType(rawValue: type).name(version: 4)
        }
    }
}
