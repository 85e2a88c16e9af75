import ConnDiagCore
import ConnDiagTLS

/// The timeline's wording of a client TLS handshake for the HTTP/2 engines (goaway-trace,
/// keepalive-test --traffic h2), and the one rule they share: HTTP/2 over TLS needs ALPN h2.
enum TLSHandshakeEvent {
    static func start(_ o: TLSOptions, at t: Double) -> Event {
        let offered = "SNI \(o.serverName ?? "none"), ALPN offered h2" + (o.insecure ? ", not verifying" : "")
        return Event(t: t, source: .app, kind: "tls-start", detail: "TLS handshake (\(offered))")
    }

    static func done(_ s: TLSSessionInfo, began: Double, at now: Double) -> Event {
        var detail = "TLS \(s.version) \(s.cipher), ALPN \(s.alpn ?? "none") in \(DurationText.format(now - began))"
        if let cert = s.peerCertificate { detail += ", certificate \(cert.subject)" }
        if !s.verified { detail += " (not verified: \(s.verifyError ?? "no certificate"))" }
        return Event(t: now, source: .app, kind: "tls-handshake", detail: detail,
                     fields: [("version", .string(s.version)), ("cipher", .string(s.cipher)), ("alpn", s.alpn.map { .string($0) } ?? .null),
                              ("verified", .bool(s.verified)), ("handshake_ms", .double((now - began) * 1000))])
    }

    /// Why the session cannot carry HTTP/2, or nil when the server selected h2.
    static func alpnProblem(_ s: TLSSessionInfo) -> String? {
        s.alpn == "h2" ? nil : "the server does not speak HTTP/2 over TLS: ALPN offered h2, the server " + (s.alpn.map { "selected \($0)" } ?? "selected no protocol")
    }

    static func failed(_ f: TLSFailure, at t: Double) -> Event {
        Event(t: t, source: .app, kind: .error, detail: "TLS handshake failed: \(f.reason)")
    }

    /// The mechanism of a failed handshake: verification, an alert, or neither.
    static func mechanism(_ f: TLSFailure) -> Mechanism { f.verifyCode != nil ? .tlsVerify : f.alert != nil ? .tlsAlert : .none }
}
