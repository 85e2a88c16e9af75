import ConnDiagCore

extension EventTableRenderer {
    /// The per-stream table of HTTP/2 commands: how each stream ended and the status each
    /// client family would report.
    public func renderStreams(_ report: Report) -> String {
        let streams = report.http2Streams
        guard !streams.isEmpty else { return "" }
        let families = [("grpc-go", 13), ("grpc-java", 13), ("grpc-core", 13), ("proxy", 10)]
        var out = paint("  streams:", "1") + "\n"
        out += "    " + "id".padding(to: 6) + "opened".padding(to: 10) + "ended".padding(to: 10) + "end".padding(to: 10)
            + families.map { $0.0.padding(to: $0.1) }.joined() + "\n"
        func seconds(_ t: Double?) -> String { t.map { DurationText.trimmed($0) + "s" } ?? "-" }
        for s in streams {
            var line = "    " + (s.streamID.map(String.init) ?? "-").padding(to: 6) + seconds(s.openedAt).padding(to: 10)
                + seconds(s.endedAt).padding(to: 10) + s.end.padding(to: 10)
            for (family, width) in families { line += (s.status(of: family) ?? "-").padding(to: width) }
            out += line + " " + s.detail + "\n"
        }
        return out
    }
}
