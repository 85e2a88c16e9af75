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
        c.add(TLSHandshakeEvent.start(o, at: begin))
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
                c.add(TLSHandshakeEvent.done(s, began: begin, at: now))
                if let problem = TLSHandshakeEvent.alpnProblem(s) {
                    client.shutdown()
                    return .failure(TLSEnd(outcome: Outcome(status: .error, mechanism: .none, detectedAt: now, summary: problem), interrupted: false))
                }
                return .success(TLSTransport(client: client))
            case .failed(let f):
                let now = clock.now()
                c.add(TLSHandshakeEvent.failed(f, at: now))
                let mechanism = TLSHandshakeEvent.mechanism(f)
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
