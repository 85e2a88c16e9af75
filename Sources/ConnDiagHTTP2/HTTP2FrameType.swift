/// An HTTP/2 frame type (RFC 9113 §6 plus registered extensions). Open set.
public struct HTTP2FrameType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let data = HTTP2FrameType(0x0)
    public static let headers = HTTP2FrameType(0x1)
    public static let priority = HTTP2FrameType(0x2)
    public static let rstStream = HTTP2FrameType(0x3)
    public static let settings = HTTP2FrameType(0x4)
    public static let pushPromise = HTTP2FrameType(0x5)
    public static let ping = HTTP2FrameType(0x6)
    public static let goAway = HTTP2FrameType(0x7)
    public static let windowUpdate = HTTP2FrameType(0x8)
    public static let continuation = HTTP2FrameType(0x9)
    public static let altSvc = HTTP2FrameType(0xa)
    public static let origin = HTTP2FrameType(0xc)
    public static let priorityUpdate = HTTP2FrameType(0x10)

    /// "GOAWAY", "WINDOW_UPDATE", ...; "0x..." for an unregistered type.
    public var name: String {
        switch rawValue {
        case 0x0: return "DATA"
        case 0x1: return "HEADERS"
        case 0x2: return "PRIORITY"
        case 0x3: return "RST_STREAM"
        case 0x4: return "SETTINGS"
        case 0x5: return "PUSH_PROMISE"
        case 0x6: return "PING"
        case 0x7: return "GOAWAY"
        case 0x8: return "WINDOW_UPDATE"
        case 0x9: return "CONTINUATION"
        case 0xa: return "ALTSVC"
        case 0xc: return "ORIGIN"
        case 0x10: return "PRIORITY_UPDATE"
        default: return hexName(rawValue)
        }
    }

    public var description: String { name }
}

/// Frame flag bits (RFC 9113 §6). Their meaning depends on the frame type.
public struct HTTP2FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let endStream = HTTP2FrameFlags(rawValue: 0x01)
    public static let ack = HTTP2FrameFlags(rawValue: 0x01)
    public static let endHeaders = HTTP2FrameFlags(rawValue: 0x04)
    public static let padded = HTTP2FrameFlags(rawValue: 0x08)
    public static let priority = HTTP2FrameFlags(rawValue: 0x20)
}
