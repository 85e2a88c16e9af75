import ConnDiagCore
import ConnDiagHTTP2Engine

enum TLSProbeSupport {
    static func factory(sni: String?, caFile: String?, insecure: Bool) throws -> ProbeTLSFactory {
        TLSProbeSession.factory(sni: sni, caFile: caFile, insecure: insecure)
    }
}
