import ConnDiagCore
import ConnDiagPlatform
import ConnDiagTCP
import ConnDiagTLS

/// `goaway-trace --tls`: the TLS handshake on the connected socket, on the timeline, before
/// the HTTP/2 session talks through it. A server that does not select h2, a certificate
/// that does not verify and an alert are outcomes of their own.
extension GoawayTraceEngine {
    struct TLSEnd: Error { var outcome: Outcome; var interrupted: Bool }

    func handshakeTLS(_ c: LiveConnection, options: TLSOptions) -> Result<TLSTransport, TLSEnd> {
        let clock = c.reactor.clock
        let begin = clock.now()
        var o = options
        o.alpn = ["h2"]
        let offered = "SNI \(o.serverName ?? "none"), ALPN offered h2" + (o.insecure ? ", not verifying" : "")
        c.add(Event(t: begin, source: .app, kind: "tls-start", detail: "TLS handshake (\(offered))"))
        let client: TLSClient
        do { client = try TLSClient(fd: c.socket.fd, options: o) } catch {
            return .failure(TLSEnd(outcome: Outcome(status: .error, mechanism: .none, detectedAt: begin, summary: "TLS: \(error)"), interrupted: false))
        }
        let deadline = begin + (config.connectTimeout ?? 10)
        let registration = c.reactor.register(fd: c.socket.fd, interest: .writable) { _ in }
        defer { c.reactor.deregister(registration) }
        while true {
            switch client.handshake() {
            case .done(let s):
                let now = clock.now()
                var detail = "TLS \(s.version) \(s.cipher), ALPN \(s.alpn ?? "none") in \(DurationText.format(now - begin))"
                if let cert = s.peerCertificate { detail += ", certificate \(cert.subject)" }
                if !s.verified { detail += " (not verified: \(s.verifyError ?? "no certificate"))" }
                c.add(Event(t: now, source: .app, kind: "tls-handshake", detail: detail,
                            fields: [("version", .string(s.version)), ("cipher", .string(s.cipher)), ("alpn", s.alpn.map { .string($0) } ?? .null),
                                     ("verified", .bool(s.verified)), ("handshake_ms", .double((now - begin) * 1000))]))
                guard s.alpn == "h2" else {
                    client.shutdown()
                    let what = s.alpn.map { "selected \($0)" } ?? "selected no protocol"
                    return .failure(TLSEnd(outcome: Outcome(status: .error, mechanism: .none, detectedAt: now,
                                                            summary: "the server does not speak HTTP/2 over TLS: ALPN offered h2, the server \(what)"), interrupted: false))
                }
                return .success(TLSTransport(client: client))
            case .failed(let f):
                let now = clock.now()
                c.add(Event(t: now, source: .app, kind: .error, detail: "TLS handshake failed: \(f.reason)"))
                let mechanism: Mechanism = f.verifyCode != nil ? .tlsVerify : f.alert != nil ? .tlsAlert : .none
                var extra: [(String, JSONValue)] = []
                if let a = f.alert { extra.append(("alert", .string(a))) }
                if let v = f.verifyCode { extra.append(("verify_code", .int(Int64(v)))) }
                return .failure(TLSEnd(outcome: Outcome(status: .error, mechanism: mechanism, detectedAt: now, summary: "TLS: \(f.reason)", extra: extra),
                                       interrupted: false))
            case .wantRead: c.reactor.setInterest(.readable, for: registration)
            case .wantWrite: c.reactor.setInterest(.writable, for: registration)
            }
            let now = clock.now()
            if now >= deadline {
                return .failure(TLSEnd(outcome: Outcome(status: .timeout, mechanism: .deadline, detectedAt: now,
                                                        summary: "the TLS handshake did not finish within \(DurationText.format(deadline - begin))"), interrupted: false))
            }
            if !c.reactor.runOnce(timeout: deadline - now) {
                return .failure(TLSEnd(outcome: Outcome(status: .error, mechanism: .none, summary: "interrupted during the TLS handshake"), interrupted: true))
            }
        }
    }
}
