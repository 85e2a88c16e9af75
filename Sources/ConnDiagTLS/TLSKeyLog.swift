/// TLS secrets from NSS key-log files (the SSLKEYLOGFILE format written by curl, OpenSSL,
/// NSS, Go's KeyLogWriter, Java agents) and from pcapng Decryption Secrets Blocks, keyed by
/// the ClientHello's random. A line that cannot be used is a counted, named problem; the
/// other lines still count. https://www.ietf.org/archive/id/draft-ietf-tls-keylogfile-02.html
public final class TLSKeyLog {
    /// Lines read (blank lines and comments included) and lines whose secret was kept.
    public private(set) var lines = 0
    public private(set) var secretsRead = 0
    /// Lines that could not be used, in total, and the first few with why.
    public private(set) var problemCount = 0
    public private(set) var problems: [String] = []
    private var sessions: [TLSClientRandom: TLSSessionSecrets] = [:]

    public init() {}

    /// Client randoms with at least one secret.
    public var sessionCount: Int { sessions.count }
    public var isEmpty: Bool { sessions.isEmpty }

    public func secrets(for random: TLSClientRandom) -> TLSSessionSecrets? { sessions[random] }

    /// Reads a whole key log (a file's bytes, or a Decryption Secrets Block's); `source`
    /// names it in problems ("keys.log", "pcapng secrets block 1").
    public func read(_ text: UnsafeRawBufferPointer, source: String) {
        var start = 0
        var number = 0
        while start < text.count {
            var end = start
            while end < text.count && text[end] != UInt8(ascii: "\n") { end += 1 }
            number += 1
            line(UnsafeRawBufferPointer(rebasing: text[start..<end]), number: number, source: source, complete: end < text.count)
            start = end + 1
        }
    }

    private static let maximumProblemsKept = 10

    private func problem(_ source: String, _ number: Int, _ reason: String) {
        problemCount += 1
        if problems.count < TLSKeyLog.maximumProblemsKept { problems.append("\(source) line \(number): \(reason)") }
    }

    private func line(_ raw: UnsafeRawBufferPointer, number: Int, source: String, complete: Bool) {
        lines += 1
        var bytes = raw
        if let last = bytes.last, last == UInt8(ascii: "\r") { bytes = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 1)]) }
        let fields = bytes.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        guard let first = fields.first, first.first != UInt8(ascii: "#") else { return }
        let label = String(decoding: first.prefix(64), as: UTF8.self)
        let unfinished = complete ? "" : " (the last line has no newline: the file may have been cut while written)"
        guard let kind = TLSSecretKind(label: label) else {
            if TLSSecretKind.ignoredLabels.contains(label) || TLSSecretKind.isLaterTrafficSecret(label) { return }
            problem(source, number, "unknown label \"\(label)\"" + unfinished)
            return
        }
        guard fields.count == 3 else {
            problem(source, number, "\(label) has \(fields.count - 1) field\(fields.count == 2 ? "" : "s"), not 2 (client random and secret)" + unfinished)
            return
        }
        guard let random = TLSKeyLog.hex(fields[1]), random.count == 32 else {
            problem(source, number, "\(label): the client random is not 64 hex digits" + unfinished)
            return
        }
        guard let secret = TLSKeyLog.hex(fields[2]) else {
            problem(source, number, "\(label): the secret is not hex" + unfinished)
            return
        }
        guard kind.acceptsLength(secret.count) else {
            problem(source, number, "\(label): a secret of \(secret.count) bytes (\(kind == .masterSecret ? "a master secret is 48" : "32 or 48 expected"))" + unfinished)
            return
        }
        sessions[TLSClientRandom(random), default: TLSSessionSecrets()][kind] = secret
        secretsRead += 1
    }

    /// Bytes from an even number of hex digits; nil otherwise.
    static func hex(_ text: Slice<UnsafeRawBufferPointer>) -> [UInt8]? {
        guard text.count % 2 == 0, !text.isEmpty else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8?
        for c in text {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}

/// The 32-byte random of a ClientHello: what a key log names a session by.
public struct TLSClientRandom: Hashable, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// Which secret a key-log line holds.
public enum TLSSecretKind: Sendable, CaseIterable {
    /// CLIENT_RANDOM: a TLS 1.2 (or older) master secret, 48 bytes.
    case masterSecret
    case clientHandshakeTraffic, serverHandshakeTraffic, clientApplicationTraffic0, serverApplicationTraffic0

    init?(label: String) {
        switch label {
        case "CLIENT_RANDOM": self = .masterSecret
        case "CLIENT_HANDSHAKE_TRAFFIC_SECRET": self = .clientHandshakeTraffic
        case "SERVER_HANDSHAKE_TRAFFIC_SECRET": self = .serverHandshakeTraffic
        case "CLIENT_TRAFFIC_SECRET_0": self = .clientApplicationTraffic0
        case "SERVER_TRAFFIC_SECRET_0": self = .serverApplicationTraffic0
        default: return nil
        }
    }

    /// Labels of the format this decrypter has no use for (0-RTT, exporters, RSA premaster).
    static let ignoredLabels: Set<String> = ["EXPORTER_SECRET", "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "RSA", "ECH_SECRET", "ECH_CONFIG"]

    /// A traffic secret after a KeyUpdate ("CLIENT_TRAFFIC_SECRET_N", as OpenSSL 3.0 writes
    /// it, or with a number): derived here from the first one, so not needed.
    static func isLaterTrafficSecret(_ label: String) -> Bool {
        for prefix in ["CLIENT_TRAFFIC_SECRET_", "SERVER_TRAFFIC_SECRET_"] where label.hasPrefix(prefix) {
            let rest = label.dropFirst(prefix.count)
            return rest == "N" || (!rest.isEmpty && rest.allSatisfy(\.isNumber))
        }
        return false
    }

    func acceptsLength(_ n: Int) -> Bool { self == .masterSecret ? n == 48 : n == 32 || n == 48 }
}

/// What a key log holds for one session.
public struct TLSSessionSecrets: Sendable, Equatable {
    public var masterSecret: [UInt8]?
    public var clientHandshakeTraffic: [UInt8]?
    public var serverHandshakeTraffic: [UInt8]?
    public var clientApplicationTraffic0: [UInt8]?
    public var serverApplicationTraffic0: [UInt8]?

    public init() {}

    public subscript(kind: TLSSecretKind) -> [UInt8]? {
        get {
            switch kind {
            case .masterSecret: return masterSecret
            case .clientHandshakeTraffic: return clientHandshakeTraffic
            case .serverHandshakeTraffic: return serverHandshakeTraffic
            case .clientApplicationTraffic0: return clientApplicationTraffic0
            case .serverApplicationTraffic0: return serverApplicationTraffic0
            }
        }
        set {
            switch kind {
            case .masterSecret: masterSecret = newValue
            case .clientHandshakeTraffic: clientHandshakeTraffic = newValue
            case .serverHandshakeTraffic: serverHandshakeTraffic = newValue
            case .clientApplicationTraffic0: clientApplicationTraffic0 = newValue
            case .serverApplicationTraffic0: serverApplicationTraffic0 = newValue
            }
        }
    }
}
