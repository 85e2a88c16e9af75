import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagTLS

/// The TLS layer of one connection as a capture shows it, fed each direction's in-order
/// reassembled bytes (as HTTP/2 is): records both ways, the handshake in clear (hellos, TLS
/// 1.2's certificate), alerts, and how much travelled encrypted. With a key log its
/// `TLSDecryption` opens the protected records and feeds their HTTP/2 to an `H2Session`.
final class TLSObserver {
    /// The connection owns this observer and outlives it.
    unowned(unsafe) let connection: Connection
    var directions = Pair<TLSDirection?>(nil, nil)
    var facts = TLSHandshakeFacts()
    /// Alerts in order; `alert` nil when the record was encrypted.
    var alerts: [(t: Double, side: Int, alert: TLSAlert?, length: Int)] = []
    /// Why a direction's records or handshake could not be read further.
    var stopped: [String?] = [nil, nil]
    var problems: [String] = []
    /// Set when the run has a key log.
    var decryption: TLSDecryption?

    init(connection: Connection) {
        self.connection = connection
        if let keyLog = connection.keyLog { decryption = TLSDecryption(observer: self, keyLog: keyLog) }
    }

    static func name(_ side: Int) -> String { Connection.name(side) }

    func startDirection(side: Int, at t: Double) {
        if directions[side] == nil { directions[side] = TLSDirection(observer: self, side: side) }
    }

    func feed(side: Int, _ p: UnsafeRawBufferPointer, at t: Double) {
        guard stopped[side] == nil else { return }
        directions[side]?.feed(p, at: t)
    }

    /// The reassembly lost bytes of this direction: records can no longer be found.
    func directionLost(side: Int, at t: Double, reason: String) {
        guard let d = directions[side], stopped[side] == nil else { return }
        d.records.stop(reason: reason, sink: d)
    }

    // MARK: - From the directions

    func handshakeMessage(_ type: TLSHandshakeType, _ body: UnsafeRawBufferPointer, side: Int, at t: Double) {
        var detail = type.name
        var fields: [(String, JSONValue)] = [("handshake_type", .string(type.name)), ("len", .int(Int64(body.count)))]
        do {
            switch type {
            case .clientHello where side == 0:
                let hello = try TLSClientHello(body)
                facts.clientHello = hello
                if let sni = hello.serverName { detail += " SNI \(sni)"; fields.append(("sni", .string(sni))) }
                if !hello.alpn.isEmpty { detail += ", ALPN offered \(hello.alpn.joined(separator: ","))" }
                let versions = hello.supportedVersions.isEmpty ? [hello.legacyVersion] : hello.supportedVersions
                detail += ", versions \(versions.map(\.name).joined(separator: ", ")), \(hello.cipherSuites.count) cipher suites"
            case .serverHello where side == 1:
                let hello = try TLSServerHello(body)
                if hello.isHelloRetryRequest {
                    facts.helloRetryRequested = true
                    detail = "HelloRetryRequest (the server asks for another key share)"
                } else {
                    facts.serverHello = hello
                    detail += " \(hello.version.name), \(hello.cipherSuite.name)"
                    if let a = hello.alpn { detail += ", ALPN \(a)" }
                    fields.append(("version", .string(hello.version.name)))
                }
            case .certificate where side == 1 && !facts.isTLS13:
                let list = try TLSCertificateList(tls12: body)
                facts.certificateCount = list.certificates.count
                if let leaf = list.certificates.first {
                    if let info = TLSCertificateInfo(der: leaf) {
                        facts.certificate = info
                        detail += " \(info.subject) (issuer \(info.issuer)), \(list.certificates.count) in the chain"
                    } else {
                        facts.certificateProblem = "the leaf certificate (\(leaf.count) bytes) is not DER that OpenSSL can read"
                        detail += ": \(facts.certificateProblem!)"
                    }
                } else {
                    detail += " (empty)"
                }
            default:
                break
            }
        } catch {
            problem("\(type.name) from the \(TLSObserver.name(side)) is malformed: \(error.reason)", side: side, at: t)
            return
        }
        let important = type == .clientHello || type == .serverHello || type == .certificate
        if connection.wants(important: important) {
            connection.record(Event(t: t, source: .wire, kind: "tls-handshake", direction: connection.dir(side), detail: "TLS " + detail, fields: fields))
        }
    }

    func handshakeUnreadable(side: Int, reason: String, at t: Double) {
        problem("the handshake from the \(TLSObserver.name(side)) cannot be read: \(reason)", side: side, at: t)
    }

    func alert(_ alert: TLSAlert?, length: Int, side: Int, at t: Double) {
        alerts.append((t, side, alert, length))
        guard connection.wants(important: true) else { return }
        let text = alert.map { "TLS alert \($0.level.name) \($0.name) (\($0.code))" + ($0.meaning.map { ": " + $0 } ?? "") }
            ?? "TLS alert, encrypted (\(length) bytes)"
        var fields: [(String, JSONValue)] = [("len", .int(Int64(length)))]
        if let alert { fields += [("level", .string(alert.level.name)), ("description", .string(alert.name))] }
        connection.record(Event(t: t, source: .wire, kind: "tls-alert", direction: connection.dir(side), detail: text, fields: fields))
    }

    func changeCipherSpec(side: Int, at t: Double) {
        guard connection.wants(important: false) else { return }
        connection.record(Event(t: t, source: .wire, kind: "tls-change-cipher-spec", direction: connection.dir(side),
                                detail: "TLS ChangeCipherSpec" + (facts.isTLS13 ? " (TLS 1.3 middlebox compatibility)" : ": what follows is encrypted")))
    }

    func firstApplicationData(side: Int, length: Int, at t: Double) {
        guard connection.wants(important: false) else { return }
        connection.record(Event(t: t, source: .wire, kind: "tls-encrypted", direction: connection.dir(side),
                                detail: "first encrypted record from the \(TLSObserver.name(side)) (\(length) bytes)", fields: [("len", .int(Int64(length)))]))
    }

    func sslv2ClientHello(version: TLSProtocolVersion, side: Int, at t: Double) {
        facts.sslv2ClientHello = version
        guard connection.wants(important: true) else { return }
        connection.record(Event(t: t, source: .wire, kind: "tls-handshake", direction: connection.dir(side),
                                detail: "SSLv2-compatible ClientHello offering up to \(version.name) (no extensions: no SNI, no ALPN)"))
    }

    func directionStopped(side: Int, reason: String, at t: Double) {
        guard stopped[side] == nil else { return }
        stopped[side] = reason
        // The decrypted HTTP/2 of this side ends with its records.
        if connection.h2?.directions[side] != nil, connection.h2?.lost[side] == nil {
            connection.h2?.stop(side: side, at: t, "HTTP/2 from the \(TLSObserver.name(side)) ends with its TLS records: \(reason)")
        }
        guard connection.wants(important: true) else { return }
        connection.record(Event(t: t, source: .wire, kind: .truncated, direction: connection.dir(side),
                                detail: "TLS records from the \(TLSObserver.name(side)) are no longer read: \(reason)"))
    }

    func problem(_ text: String, side: Int, at t: Double) {
        if problems.count < 20 { problems.append(text) }
        guard connection.wants(important: true) else { return }
        connection.record(Event(t: t, source: .wire, kind: .invalid, direction: connection.dir(side), detail: "TLS: " + text))
    }
}

// MARK: - From the decryption

extension TLSObserver {
    func decryptionStarted(side: Int, suite: TLSAEADSuite, at t: Double) {
        guard connection.wants(important: true) else { return }
        connection.record(Event(t: t, source: .wire, kind: "tls-decrypted", direction: connection.dir(side),
                                detail: "TLS records from the \(TLSObserver.name(side)) decrypt with the key log's secrets (\(facts.version?.name ?? "TLS"), \(facts.serverHello?.cipherSuite.name ?? "?"))"))
    }

    func decryptionFailed(side: Int, reason: String, at t: Double) {
        guard connection.wants(important: true) else { return }
        connection.record(Event(t: t, source: .wire, kind: .invalid, direction: connection.dir(side), detail: "TLS: " + reason))
    }

    func encryptedExtensions(_ ee: TLSEncryptedExtensions, at t: Double) {
        facts.encryptedExtensionsALPN = ee.alpn
        guard connection.wants(important: true) else { return }
        var fields: [(String, JSONValue)] = [("handshake_type", .string("EncryptedExtensions"))]
        if let a = ee.alpn { fields.append(("alpn", .string(a))) }
        connection.record(Event(t: t, source: .wire, kind: "tls-handshake", direction: connection.dir(1),
                                detail: "TLS EncryptedExtensions (decrypted)" + (ee.alpn.map { ", ALPN \($0)" } ?? ", no ALPN"), fields: fields))
    }

    func keyUpdate(side: Int, at t: Double) {
        guard connection.wants(important: false) else { return }
        connection.record(Event(t: t, source: .wire, kind: "tls-key-update", direction: connection.dir(side),
                                detail: "TLS KeyUpdate from the \(TLSObserver.name(side)): its next records use the next traffic secret"))
    }

    /// Decrypted application data: HTTP/2 when ALPN chose h2 or the client's first bytes are
    /// the HTTP/2 preface, fed to the connection's `H2Session` as h2c bytes are.
    func decryptedApplicationData(side: Int, _ p: UnsafeRawBufferPointer, at t: Double) {
        let c = connection
        if c.h2 == nil {
            let preface = side == 0 && p.count >= Connection.preface.count
                && (0..<Connection.preface.count).allSatisfy { p[$0] == Connection.preface[$0] }
            guard facts.alpn == "h2" || preface else { return }
            c.h2 = H2Session(connection: c, fromStart: true, stallThreshold: c.stallThreshold)
        }
        guard let h2 = c.h2 else { return }
        if h2.directions[side] == nil { h2.startDirection(side: side, fromConnectionStart: true, at: t, syncedMidStream: false) }
        h2.feed(side: side, p, at: t)
    }
}
