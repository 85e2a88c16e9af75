import Glibc
import ConnDiagCore
import ConnDiagHTTP2
import ConnDiagTLS
import ConnDiagPlatform

/// ConnDiagTLS's client as the probe's TLS session and as the HTTP/2 session's transport
/// (TLS failures stay TLS failures: an alert is never an errno).
public final class TLSProbeSession: ProbeTLSSession {
    let client: TLSClient
    private let transport: TLSTransport

    init(client: TLSClient) {
        self.client = client
        transport = TLSTransport(client: client)
    }

    /// A factory for ProbeConfig: SNI defaults to the target's host; SSLKEYLOGFILE is honoured.
    public static func factory(sni: String?, caFile: String?, insecure: Bool) -> ProbeTLSFactory {
        { fd, host in
            var o = TLSOptions()
            o.serverName = sni ?? host
            o.caFile = caFile
            o.insecure = insecure
            o.keyLogFile = TLSOptions.environmentKeyLogFile
            return TLSProbeSession(client: try TLSClient(fd: fd, options: o))
        }
    }

    public func handshakeStep() -> ProbeTLSStep {
        switch client.handshake() {
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .failed(let f): return .failed(f.reason)
        case .done(let s):
            let now = Int64(time(nil))
            var fields: [(String, JSONValue)] = [("version", .string(s.version)), ("cipher", .string(s.cipher)),
                                                 ("alpn", s.alpn.map { .string($0) } ?? .null), ("verified", .bool(s.verified))]
            if let e = s.verifyError { fields.append(("verify_error", .string(e))) }
            var days: Double?
            if let c = s.peerCertificate {
                days = c.daysUntilExpiry(now: now)
                fields.append(("certificate", .object([
                    ("subject", .string(c.subject)), ("issuer", .string(c.issuer)), ("sans", .array(c.sans.map { .string($0) })),
                    ("not_before", .int(c.notBefore)), ("not_after", .int(c.notAfter)),
                    ("days_until_expiry", .double((c.daysUntilExpiry(now: now) * 100).rounded() / 100)),
                    ("serial", .string(c.serial)), ("signature_algorithm", .string(c.signatureAlgorithm)),
                ])))
            }
            fields.append(("chain_length", .int(Int64(s.chainLength))))
            return .done(ProbeTLSInfo(fields: fields, alpn: s.alpn, daysLeft: days))
        }
    }

    public func close() { client.shutdown() }

    public var fd: Int32 { client.fd }
    public var hasBufferedBytes: Bool { transport.hasBufferedBytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TransportResult { transport.read(into: buffer) }
    public func write(_ bytes: UnsafeRawBufferPointer) -> TransportResult { transport.write(bytes) }
}
