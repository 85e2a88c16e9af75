/// The options the application set on its socket, read back from a duplicate of its
/// descriptor. Every field is what getsockopt returned; nothing is assumed from defaults.
public struct ApplicationOptions: Sendable, Equatable {
    public var keepalive: Bool
    public var keepIdle: Int
    public var keepInterval: Int
    public var keepCount: Int
    /// TCP_USER_TIMEOUT in milliseconds (0: unset).
    public var userTimeoutMs: Int
    public var synCount: Int
    public var noDelay: Bool
    public var sendBuffer: Int
    public var receiveBuffer: Int
    public var congestion: String

    public init(keepalive: Bool, keepIdle: Int, keepInterval: Int, keepCount: Int, userTimeoutMs: Int = 0,
                synCount: Int = 6, noDelay: Bool = false, sendBuffer: Int = 0, receiveBuffer: Int = 0, congestion: String = "") {
        self.keepalive = keepalive; self.keepIdle = keepIdle; self.keepInterval = keepInterval; self.keepCount = keepCount
        self.userTimeoutMs = userTimeoutMs; self.synCount = synCount; self.noDelay = noDelay
        self.sendBuffer = sendBuffer; self.receiveBuffer = receiveBuffer; self.congestion = congestion
    }

    public var userTimeout: Double { Double(userTimeoutMs) / 1000 }
}

/// What is known of a socket's options: read, or unknown with the reason.
public enum OptionsReading: Sendable, Equatable {
    case read(ApplicationOptions)
    case unknown(String)

    public var options: ApplicationOptions? {
        if case .read(let o) = self { return o }
        return nil
    }
}
