import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagTLS

/// How a connection's TLS is told from its bytes, judged and reported.
extension Connection {
    /// The length of an alert encrypted under TLS 1.3's AEAD: 2 bytes of alert, 1 of inner
    /// content type and a 16-byte tag (RFC 8446 §5.2). No TLS 1.3 Finished is that short.
    static let tls13EncryptedAlertLength = 19

    // MARK: - Recognising TLS

    /// Decides whether this direction carries TLS, from its first bytes: a record header (any
    /// port). From the connection's start only its first payload is looked at; mid-connection,
    /// a few segments (one may begin inside a record).
    func sniffTLS(_ p: UnsafeRawBufferPointer, seq: UInt32, side: Int, at t: Double) -> Bool {
        guard tlsSniffBudget[side] > 0 else { return false }
        let fromStart = !midConnection && sides[side].isn.map { seq == $0 &+ 1 } == true
        let verdict: TLSSniffer.Verdict
        if fromStart {
            tlsSniffBudget[side] = 0
            verdict = TLSSniffer.atStart(p, client: side == 0, peerIsTLS: tls != nil)
        } else {
            tlsSniffBudget[side] -= 1
            verdict = TLSSniffer.midConnection(p)
        }
        guard verdict != .notTLS else { return false }
        if tls == nil { tls = TLSObserver(connection: self) }
        tls!.startDirection(side: side, at: t)
        if !fromStart, wants(important: true) {
            record(Event(t: t, source: .wire, kind: "tls-sync", direction: dir(side),
                         detail: "TLS records from the \(Connection.name(side)) recognised mid-connection (the handshake is not in the capture)"))
        }
        streams[side].start(at: seq)
        return true
    }

    // MARK: - Reading the facts

    /// Whether the handshake finished on the wire: TLS 1.2 both ChangeCipherSpecs; TLS 1.3
    /// an encrypted record from the client that is not alert-sized (its Finished).
    func tlsHandshakeComplete(_ tls: TLSObserver) -> Bool {
        guard let c = tls.directions[0], let s = tls.directions[1] else { return false }
        if tls.facts.isTLS13 {
            return c.firstApplicationRecords.contains { $0.length != Connection.tls13EncryptedAlertLength } || c.applicationRecords > 1
        }
        return c.changeCipherSpecAt != nil && s.changeCipherSpecAt != nil
    }

    /// When `side` closed TCP (FIN or RST), if it did.
    private func closeAt(_ side: Int) -> Double? { [sides[side].finAt, sides[side].rstAt].compactMap { $0 }.min() }

    /// One alert as the report words it; an encrypted one with what it probably was.
    struct TLSAlertReport {
        var t: Double
        var side: Int
        var alert: TLSAlert?
        /// For an encrypted alert: "probably close_notify", "probably fatal", or nil.
        var guess: String?
        var fatal: Bool

        var text: String {
            if let alert { return alert.name }
            return "encrypted alert" + (guess.map { " (\($0))" } ?? "")
        }
    }

    /// Every alert of the connection: the plaintext ones, TLS 1.2's encrypted ones, and TLS
    /// 1.3 records of exactly an alert's encrypted size that a side sent last before closing.
    func tlsAlerts(_ tls: TLSObserver) -> [TLSAlertReport] {
        let complete = tlsHandshakeComplete(tls)
        let tls13 = tls.facts.isTLS13
        var out: [TLSAlertReport] = tls.alerts.map { a in
            if let alert = a.alert { return TLSAlertReport(t: a.t, side: a.side, alert: alert, guess: nil, fatal: alert.isFatal(tls13: tls13)) }
            let last = tls.directions[a.side]?.last.map { $0.type == .alert && $0.t == a.t } ?? false
            let closed = closeAt(a.side).map { $0 >= a.t } ?? false
            if !complete { return TLSAlertReport(t: a.t, side: a.side, alert: nil, guess: "probably fatal: the handshake did not finish", fatal: true) }
            return TLSAlertReport(t: a.t, side: a.side, alert: nil, guess: last && closed ? "probably close_notify" : nil, fatal: false)
        }
        guard tls13 else { return out }
        for side in 0..<2 {
            // Decrypted, this side's alerts were read exactly.
            if let dec = tls.decryption, dec.sides[side].opened > 0 { continue }
            guard let d = tls.directions[side], let last = d.last, last.type == .applicationData,
                  last.length == Connection.tls13EncryptedAlertLength, let closed = closeAt(side), closed >= last.t else { continue }
            // An alert the server sends before anything else after the client's first
            // encrypted record (its Finished) rejected what the client sent (certificate_required).
            var early = !complete
            if side == 1, let peerFinished = tls.directions[0]?.firstApplicationRecords.first?.t {
                early = early || d.applicationRecords <= d.firstApplicationRecords.filter { $0.t < peerFinished }.count + 1
            }
            out.append(TLSAlertReport(t: last.t, side: side, alert: nil,
                                      guess: early ? "probably fatal: sent instead of finishing the handshake" : "probably close_notify", fatal: early))
        }
        return out.sorted { $0.t < $1.t }
    }

    /// "TLS 1.2, SNI example.com, ALPN h2": the table's one-line description.
    func tlsSummary(_ tls: TLSObserver) -> String {
        var parts: [String] = []
        let f = tls.facts
        if let v = f.version { parts.append(v.name) }
        else if let v = f.sslv2ClientHello { parts.append("SSLv2-compatible hello (up to \(v.name))") }
        else { parts.append("TLS") }
        if let sni = f.clientHello?.serverName { parts.append("SNI \(sni)") }
        if let a = f.alpn { parts.append("ALPN \(a)") }
        else if let offered = f.clientHello?.alpn, !offered.isEmpty {
            parts.append("ALPN offered \(offered.joined(separator: ","))" + (f.isTLS13 ? " (choice encrypted)" : ""))
        }
        return parts.joined(separator: ", ")
    }

    // MARK: - The verdict

    /// A fatal alert ends the connection (`tls-alert`); otherwise findings that the data is
    /// encrypted and, where TLS 1.2 shows it, that a side closed without close_notify.
    func tlsVerdict(_ tls: TLSObserver, findings: inout [Finding]) -> Outcome? {
        let alerts = tlsAlerts(tls)
        let f = tls.facts
        // A fatal alert sent after the peer closed TCP, the handshake done, answers a close
        // without close_notify (OpenSSL servers send decode_error then): not what ended it.
        let complete = tlsHandshakeComplete(tls)
        func answersPeerClose(_ a: TLSAlertReport) -> Bool {
            a.alert != nil && complete && closeAt(1 - a.side).map { $0 <= a.t } == true
        }
        for a in alerts where a.fatal && answersPeerClose(a) {
            findings.append(Finding(severity: .notice, kind: "tls-alert-after-close", connection: index, t: a.t,
                                    summary: "the \(Connection.name(a.side)) sent a fatal TLS alert \(a.text) after the \(Connection.name(1 - a.side)) closed TCP without a close_notify: an answer to that close, not its cause"))
        }
        if let a = alerts.first(where: { $0.fatal && !answersPeerClose($0) }) {
            let who = Connection.name(a.side)
            let when = tlsHandshakeComplete(tls) ? "" : " during the handshake"
            let what: String
            if let alert = a.alert {
                what = "the \(who) sent a fatal TLS alert \(alert.name) (\(alert.code))\(when)" + (alert.meaning.map { ": " + $0 } ?? "")
            } else {
                what = "the \(who) sent an encrypted TLS alert\(when) and closed (\(a.guess ?? "probably fatal"); TLS 1.3 hides which)"
            }
            findings.append(Finding(severity: .critical, kind: "tls-alert", connection: index, t: a.t, summary: what))
            var extra: [(String, JSONValue)] = [("alert_from", .string(who)), ("alert", .string(a.text))]
            if let alert = a.alert { extra.append(("alert_code", .int(Int64(alert.code)))) }
            return Outcome(status: .error, mechanism: .tlsAlert, detectedAt: a.t, summary: what + " (" + tlsSummary(tls) + ")", extra: extra)
        }
        let encrypted = (tls.directions[0]?.applicationRecords ?? 0) + (tls.directions[1]?.applicationRecords ?? 0) > 0
        if let dec = tls.decryption { decryptionFindings(dec, findings: &findings) }
        if encrypted, tls.decryption?.decryptedAnything != true, tls.decryption?.failedAny != true {
            let alpn = f.serverHello?.alpn.map { ", ALPN \($0)" } ?? (f.isTLS13 && f.clientHello?.alpn.contains("h2") == true ? ", ALPN h2 offered" : "")
            let h2 = f.serverHello?.alpn == "h2" || (f.serverHello?.alpn == nil && f.clientHello?.alpn.contains("h2") == true) || forcedHTTP2
            var text = "application data is encrypted (\(f.version?.name ?? "TLS")\(alpn))"
            let why = tls.decryption == nil ? "without a key log (give --keylog FILE to see inside)" : "without this connection's secrets"
            text += h2 ? ": its HTTP/2 cannot be judged \(why)" : ": its contents cannot be judged \(why)"
            if forcedHTTP2 { text += " (--http2-port \(server.port): this is TLS, i.e. encrypted HTTP/2, not h2c)" }
            findings.append(Finding(severity: .info, kind: "tls-encrypted", connection: index, t: nil, summary: text))
        }
        if !f.isTLS13, tlsHandshakeComplete(tls) {
            for side in 0..<2 {
                guard let fin = sides[side].finAt, tls.stopped[side] == nil else { continue }
                let alertBefore = alerts.contains { $0.side == side && $0.t <= fin }
                if !alertBefore {
                    findings.append(Finding(severity: .notice, kind: "tls-truncation", connection: index, t: fin,
                                            summary: "the \(Connection.name(side)) closed TCP (FIN) without a TLS close_notify: a truncation attack could not be told from this close (many servers close this way after a response)"))
                }
            }
        }
        for (side, reason) in tls.stopped.enumerated() {
            if let reason { findings.append(Finding(severity: .notice, kind: "tls-decoding-stopped", connection: index, t: nil, summary: "TLS from the \(Connection.name(side)): \(reason)")) }
        }
        return nil
    }

    // MARK: - JSON

    func tlsJSON(_ tls: TLSObserver) -> JSONValue {
        let f = tls.facts
        var b = JSONObjectBuilder()
        b.add("version", f.version.map { JSONValue.string($0.name) } ?? .null)
        if let v = f.sslv2ClientHello { b.add("sslv2_client_hello", v.name) }
        b.add("sni", f.clientHello?.serverName.map { JSONValue.string($0) } ?? .null)
        b.add("alpn_offered", .array((f.clientHello?.alpn ?? []).map { .string($0) }))
        b.add("alpn", f.alpn.map { JSONValue.string($0) } ?? .null)
        if f.isTLS13 && f.alpn == nil { b.add("alpn_note", "TLS 1.3 sends the selected protocol in EncryptedExtensions: not visible without a key log") }
        b.add("cipher_suite", f.serverHello.map { JSONValue.string($0.cipherSuite.name) } ?? .null)
        b.add("certificate_subject", f.certificate.map { JSONValue.string($0.subject) } ?? .null)
        if let c = f.certificate { b.add("certificate_issuer", c.issuer) }
        if f.isTLS13 { b.add("certificate_note", "TLS 1.3 encrypts the Certificate message") }
        if let p = f.certificateProblem { b.add("certificate_problem", p) }
        if f.helloRetryRequested { b.add("hello_retry_request", true) }
        b.add("handshake_complete", tlsHandshakeComplete(tls))
        b.add("alerts", .array(tlsAlerts(tls).map { a in
            .object([("t", .double(round6(a.t))), ("from", .string(Connection.name(a.side))),
                     ("level", a.alert.map { .string($0.level.name) } ?? .null), ("description", .string(a.text))])
        }))
        for side in 0..<2 {
            let d = tls.directions[side], who = Connection.name(side)
            b.add("records_\(who)", d?.records.records ?? 0)
            b.add("bytes_\(who)", d?.records.bytes ?? 0)
            b.add("encrypted_records_\(who)", (d?.applicationRecords ?? 0) + (d?.encryptedHandshakeRecords ?? 0))
        }
        if let dec = tls.decryption { b.add("decryption", decryptionJSON(dec)) }
        if !tls.problems.isEmpty { b.add("problems", .array(tls.problems.map { .string($0) })) }
        let stopped = tls.stopped.enumerated().compactMap { i, r in r.map { (Connection.name(i), JSONValue.string($0)) } }
        if !stopped.isEmpty { b.add("decoding_stopped", .object(stopped)) }
        return b.value
    }
}

/// What receives a direction's reassembled bytes: the HTTP/2 session or the TLS observer.
protocol ReassembledBytesConsumer: AnyObject {
    func feed(side: Int, _ p: UnsafeRawBufferPointer, at t: Double)
    /// `count` bytes of `side` will never be seen (lost before the capture point, missed or
    /// cut by the capture): HTTP/2 resynchronises after them, TLS stops that direction.
    func gap(side: Int, bytes count: Int, at t: Double, why: String)
}

extension H2Session: ReassembledBytesConsumer {}
extension TLSObserver: ReassembledBytesConsumer {
    func gap(side: Int, bytes count: Int, at t: Double, why: String) {
        directionLost(side: side, at: t, reason: "\(count) bytes from the \(Connection.name(side)) were \(why)")
    }
}
