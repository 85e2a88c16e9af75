import ConnDiagCore
import ConnDiagTLS

/// Decrypts one connection's TLS records with the secrets a key log holds for its client
/// random, and hands on what they carried: application data to an `H2Session` (as h2c
/// bytes are), handshake messages (TLS 1.3's EncryptedExtensions with the ALPN choice,
/// Finished, KeyUpdate) and alerts to the observer. A record whose tag does not verify stops
/// that direction with a finding: wrong secrets never become frames.
final class TLSDecryption {
    /// The observer owns this and outlives it.
    unowned(unsafe) let observer: TLSObserver
    let keyLog: TLSKeyLog

    /// Why nothing is decrypted (no secrets, a suite this cannot decrypt), once decided.
    private(set) var unavailable: String?
    private var secrets: TLSSessionSecrets?
    private(set) var suite: TLSAEADSuite?

    /// One side's protection: the decrypter in force, TLS 1.3's phase and current secret.
    struct Side {
        var decrypter: TLSRecordDecrypter?
        /// TLS 1.3: true once this side's Finished moved it to the application traffic secret.
        var applicationPhase = false
        var secret: [UInt8] = []
        let handshake = TLSHandshakeReader()
        var opened = 0
        var plaintextBytes = 0
        /// Why this side is no longer decrypted (authentication failure, a damaged record).
        var failed: (t: Double, reason: String, afterRecords: Int)?
        /// TLS 1.3 0-RTT records the server did not accept (skipped, as the server did).
        var earlyDataSkipped = 0
    }
    var sides = [Side(), Side()]
    private var plaintext: [UInt8] = []

    init(observer: TLSObserver, keyLog: TLSKeyLog) {
        self.observer = observer
        self.keyLog = keyLog
    }

    var facts: TLSHandshakeFacts { observer.facts }
    var connection: Connection { observer.connection }
    var decryptedAnything: Bool { sides[0].opened + sides[1].opened > 0 }
    var failedAny: Bool { sides[0].failed != nil || sides[1].failed != nil }

    /// Whether `side`'s protected records should be read whole (the reader copies them
    /// only when split across segments).
    func wants(side: Int) -> Bool {
        unavailable == nil && sides[side].failed == nil
    }

    /// Finds the secrets and sets up both sides' first keys, once the ServerHello is read.
    private func prepare() -> Bool {
        if suite != nil { return true }
        if unavailable != nil { return false }
        guard let client = facts.clientHello, let server = facts.serverHello else {
            unavailable = "the handshake's hellos are not in the capture (it began mid-connection): the key log is named by the ClientHello's random"
            return false
        }
        guard let secrets = keyLog.secrets(for: TLSClientRandom(client.random)) else {
            unavailable = "the key log has no secrets for this connection (client random \(TLSDecryption.hexPrefix(client.random))...)"
            return false
        }
        guard let suite = TLSAEADSuite(server.cipherSuite), suite.isTLS13 == facts.isTLS13 else {
            unavailable = "\(server.cipherSuite.name) is not a suite this decrypts (AES-GCM or ChaCha20-Poly1305 with ECDHE, or TLS 1.3)"
            return false
        }
        self.secrets = secrets
        if suite.isTLS13 {
            for side in 0..<2 {
                guard let s = secrets[side == 0 ? .clientHandshakeTraffic : .serverHandshakeTraffic] else {
                    unavailable = "the key log has no \(side == 0 ? "CLIENT" : "SERVER")_HANDSHAKE_TRAFFIC_SECRET for this connection"
                    return false
                }
                guard install(side: side, suite: suite, secret: s) else { return false }
            }
        } else {
            guard let master = secrets.masterSecret else {
                unavailable = "the key log has no CLIENT_RANDOM (master secret) line for this TLS 1.2 connection"
                return false
            }
            guard let keys = TLS12KeySchedule.keys(suite: suite, masterSecret: master, clientRandom: client.random, serverRandom: server.random),
                  let c = TLSRecordDecrypter(suite: suite, keys: keys.client), let s = TLSRecordDecrypter(suite: suite, keys: keys.server) else {
                unavailable = "OpenSSL could not derive the TLS 1.2 keys"
                return false
            }
            sides[0].decrypter = c
            sides[1].decrypter = s
        }
        self.suite = suite
        return true
    }

    /// TLS 1.3: `side`'s records from now on are protected by `secret`, from sequence 0.
    private func install(side: Int, suite: TLSAEADSuite, secret: [UInt8]) -> Bool {
        guard let keys = TLS13KeySchedule.keys(suite: suite, secret: secret), let d = TLSRecordDecrypter(suite: suite, keys: keys) else {
            unavailable = "OpenSSL could not derive TLS 1.3 keys from a \(secret.count)-byte secret (\(suite.hash.rawValue) needs \(suite.hash.length))"
            return false
        }
        sides[side].decrypter = d
        sides[side].secret = secret
        return true
    }

    /// A protected record of `side`: TLS 1.2 anything after its ChangeCipherSpec, TLS 1.3
    /// every application_data record. Returns false when it could not be opened (the caller
    /// then counts it as before, encrypted).
    @discardableResult
    func protectedRecord(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer, side: Int, at t: Double) -> Bool {
        guard wants(side: side), prepare(), let decrypter = sides[side].decrypter else { return false }
        switch decrypter.open(header, payload: payload, into: &plaintext) {
        case .opened(let type):
            sides[side].opened += 1
            sides[side].plaintextBytes += plaintext.count
            if sides[side].opened == 1 { observer.decryptionStarted(side: side, suite: suite!, at: t) }
            let body = plaintext
            body.withUnsafeBytes { deliver(type, $0, side: side, at: t) }
            return true
        case .authenticationFailed:
            if side == 0, facts.isTLS13, !sides[0].applicationPhase, sides[0].opened == 0,
               facts.clientHello?.extensions.contains(42) == true, sides[0].earlyDataSkipped < 64 {
                // 0-RTT data under the early secret before the client's handshake records.
                sides[0].earlyDataSkipped += 1
                return false
            }
            fail(side: side, at: t, reason: sides[side].opened == 0
                 ? "the key log's secrets for this connection do not decrypt its records (the first record from the \(Connection.name(side)) fails authentication)"
                 : "record \(decrypter.sequence + 1) from the \(Connection.name(side)) fails authentication after \(sides[side].opened) decrypted (damaged, or bytes were lost)")
            return false
        case .malformed(let why):
            fail(side: side, at: t, reason: "\(why) from the \(Connection.name(side))")
            return false
        }
    }

    private func fail(side: Int, at t: Double, reason: String) {
        guard sides[side].failed == nil else { return }
        sides[side].failed = (t, reason, sides[side].opened)
        observer.decryptionFailed(side: side, reason: reason, at: t)
        // The HTTP/2 of this side ends here: streams must not look as if its peer went quiet.
        if let h2 = connection.h2, h2.directions[side] != nil, h2.lost[side] == nil {
            h2.stop(side: side, at: t, "HTTP/2 from the \(Connection.name(side)) ends where its TLS records stop decrypting")
        }
    }

    /// What a decrypted record carried.
    private func deliver(_ type: TLSContentType, _ p: UnsafeRawBufferPointer, side: Int, at t: Double) {
        switch type {
        case .applicationData:
            guard !p.isEmpty else { return }
            observer.decryptedApplicationData(side: side, p, at: t)
        case .handshake:
            sides[side].handshake.append(p) { type, body in handshakeMessage(type, body, side: side, at: t) }
        case .alert:
            if let alert = TLSAlert(p) { observer.alert(alert, length: p.count, side: side, at: t) }
            else { observer.problem("a decrypted alert of \(p.count) bytes from the \(Connection.name(side)) (an alert is 2 bytes)", side: side, at: t) }
        default:
            observer.problem("a decrypted record of content type \(type.rawValue) from the \(Connection.name(side))", side: side, at: t)
        }
    }

    private func handshakeMessage(_ type: TLSHandshakeType, _ body: UnsafeRawBufferPointer, side: Int, at t: Double) {
        guard let suite, suite.isTLS13 else { return }   // TLS 1.2: only the Finished travels protected
        switch type {
        case .encryptedExtensions where side == 1:
            do { observer.encryptedExtensions(try TLSEncryptedExtensions(body), at: t) }
            catch { observer.problem("EncryptedExtensions from the server is malformed: \(error.reason)", side: side, at: t) }
        case .finished where !sides[side].applicationPhase:
            guard let s = secrets?[side == 0 ? .clientApplicationTraffic0 : .serverApplicationTraffic0] else {
                fail(side: side, at: t, reason: "the key log has no \(side == 0 ? "CLIENT" : "SERVER")_TRAFFIC_SECRET_0 for this connection: its application data cannot be decrypted")
                return
            }
            sides[side].applicationPhase = true
            if !install(side: side, suite: suite, secret: s) { fail(side: side, at: t, reason: unavailable ?? "key derivation failed") }
        case .keyUpdate where sides[side].applicationPhase:
            guard let next = TLS13KeySchedule.nextSecret(suite: suite, after: sides[side].secret), install(side: side, suite: suite, secret: next) else {
                fail(side: side, at: t, reason: "the KeyUpdate's next secret could not be derived")
                return
            }
            observer.keyUpdate(side: side, at: t)
        default:
            break
        }
    }

    static func hexPrefix(_ bytes: [UInt8]) -> String {
        bytes.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
