import Foundation
import Testing

/// `--version`: the version from the VERSION file (its one definition), the commit compiled
/// in by Plugins/BuildInfo, and the C libraries loaded at run time.
@Suite("--version")
struct VersionCLITests {
    @Test("version from VERSION, the git commit, and the libpcap, nghttp2 and OpenSSL versions")
    func version() throws {
        let r = try CLI.run(["--version"])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdoutLines
        let declared = try String(contentsOf: CLI.repoRoot.appendingPathComponent("VERSION"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(lines.first?.hasPrefix("conndiag \(declared) (commit ") == true, "\(r)")
        // A checkout's binary names its commit (hex, maybe -dirty); a tarball's says unknown.
        let commit = lines.first.flatMap { $0.split(separator: " ").dropFirst(3).first }.map { String($0.dropLast()) } ?? ""
        let hex = commit.replacingOccurrences(of: "-dirty", with: "")
        #expect(commit == "unknown" || (hex.count == 12 && hex.allSatisfy(\.isHexDigit)), "commit '\(commit)': \(r)")
        #expect(lines.contains { $0.hasPrefix("libpcap: libpcap version ") }, "\(r)")
        #expect(lines.contains { $0.hasPrefix("OpenSSL: OpenSSL 3") }, "\(r)")
        let nghttp2 = try #require(lines.first { $0.hasPrefix("nghttp2: ") })
        let installed = try? CLI.sh(["pkg-config", "--modversion", "libnghttp2"]).trimmingCharacters(in: .whitespacesAndNewlines)
        if let installed, !installed.isEmpty { #expect(nghttp2 == "nghttp2: \(installed)", "\(r)") }
    }
}
