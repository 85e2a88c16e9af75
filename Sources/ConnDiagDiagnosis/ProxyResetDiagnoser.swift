import ConnDiagCore
import ConnDiagHTTP2

/// Streams reset by the server with an error code. A request-level proxy whose upstream
/// fails sends RST_STREAM INTERNAL_ERROR, so gRPC clients report INTERNAL, not UNAVAILABLE.
public enum ProxyResetDiagnoser {
    /// The server's error resets, first one first.
    public static func errorResets(in e: HTTP2Evidence) -> [RSTStreamEvidence] {
        e.rstStreams.filter { $0.from == .server && $0.isError }
    }

    public static func diagnose(_ e: HTTP2Evidence) -> Diagnosis? {
        let resets = errorResets(in: e)
        guard let r = resets.first else { return nil }
        let status = GRPCStatusCode(rstStream: r.code)
        var summary = "the server reset stream \(r.streamID) with RST_STREAM \(r.code.name) at \(timeText(r.t)): clients report \(status.name)"
        if r.code == .internalError { summary += "; a proxy does this when its upstream fails (which is why clients see INTERNAL rather than UNAVAILABLE)" }
        if resets.count > 1 { summary += " (\(resets.count) streams reset)" }
        return Diagnosis(outcome: Outcome(status: .error, mechanism: .none, detectedAt: r.t, summary: summary),
                              findings: [DiagnosisFinding(severity: .warning, kind: "rst-stream", t: r.t, summary: summary)])
    }
}
