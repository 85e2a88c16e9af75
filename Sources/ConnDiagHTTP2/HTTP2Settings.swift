/// A SETTINGS parameter identifier (RFC 9113 §6.5.2 plus registered extensions). Open set.
public struct HTTP2SettingIdentifier: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let headerTableSize = HTTP2SettingIdentifier(0x1)
    public static let enablePush = HTTP2SettingIdentifier(0x2)
    public static let maxConcurrentStreams = HTTP2SettingIdentifier(0x3)
    public static let initialWindowSize = HTTP2SettingIdentifier(0x4)
    public static let maxFrameSize = HTTP2SettingIdentifier(0x5)
    public static let maxHeaderListSize = HTTP2SettingIdentifier(0x6)
    public static let enableConnectProtocol = HTTP2SettingIdentifier(0x8)
    public static let noRFC7540Priorities = HTTP2SettingIdentifier(0x9)

    /// "INITIAL_WINDOW_SIZE", ...; "0x..." for an unregistered identifier.
    public var name: String {
        switch rawValue {
        case 0x1: return "HEADER_TABLE_SIZE"
        case 0x2: return "ENABLE_PUSH"
        case 0x3: return "MAX_CONCURRENT_STREAMS"
        case 0x4: return "INITIAL_WINDOW_SIZE"
        case 0x5: return "MAX_FRAME_SIZE"
        case 0x6: return "MAX_HEADER_LIST_SIZE"
        case 0x8: return "ENABLE_CONNECT_PROTOCOL"
        case 0x9: return "NO_RFC7540_PRIORITIES"
        default: return hexName(rawValue)
        }
    }

    public var description: String { name }
}

/// One SETTINGS parameter as carried on the wire.
public struct HTTP2Setting: Hashable, Sendable, CustomStringConvertible {
    public var identifier: HTTP2SettingIdentifier
    public var value: UInt32

    public init(_ identifier: HTTP2SettingIdentifier, _ value: UInt32) {
        self.identifier = identifier
        self.value = value
    }

    public var description: String { "\(identifier.name)=\(value)" }
}

/// Well-known protocol constants.
public enum HTTP2Defaults {
    /// The 24-byte client connection preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".
    public static let clientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// SETTINGS_MAX_FRAME_SIZE before the peer says otherwise.
    public static let maxFrameSize = 16_384
    /// The largest length a 24-bit frame length field can carry.
    public static let maxFrameSizeLimit = (1 << 24) - 1
    /// SETTINGS_INITIAL_WINDOW_SIZE before the peer says otherwise.
    public static let initialWindowSize = 65_535
    /// SETTINGS_HEADER_TABLE_SIZE before the peer says otherwise.
    public static let headerTableSize = 4_096
    /// The largest stream identifier, also the "drain" GOAWAY's last stream id (gRPC A9).
    public static let maxStreamID: Int32 = Int32.max
}
