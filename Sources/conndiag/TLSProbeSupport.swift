import ConnDiagCore
import ConnDiagHTTP2Engine

/// Placeholder until the TLS module lands: --tls is refused with a clear message.
enum TLSProbeSupport {
    static func factory(sni: String?, caFile: String?, insecure: Bool) throws -> ProbeTLSFactory {
        throw ConnDiagError.environment("--tls is not available in this build")
    }
}
