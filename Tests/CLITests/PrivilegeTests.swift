import Foundation
import Testing

/// Rights: the lab needs CAP_NET_ADMIN and CAP_SYS_ADMIN. Without them every lab entry
/// point exits 3 with one clear line — also for uid 0 with its capabilities dropped (a
/// container), where a uid check alone would let `ip netns add` fail halfway.
@Suite("Privileges")
struct PrivilegeTests {
    static let setpriv = "/usr/bin/setpriv"
    static let labInvocations: [[String]] = [
        ["lab", "--quick"],
        ["syn-timeout", "--lab"],
        ["keepalive-test", "--lab", "--for", "1s"],
        ["goaway-trace", "--lab", "grpc"],
    ]

    @Test("root without CAP_NET_ADMIN/CAP_SYS_ADMIN: every lab entry point exits 3 with one line, nothing made",
          arguments: labInvocations)
    func labWithoutCapabilities(_ args: [String]) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.setpriv), "setpriv (util-linux) is needed")
        // setpriv execs conndiag, so the child's pid is conndiag's.
        let child = try CLI.Running(Self.setpriv, ["--bounding-set=-all", "--inh-caps=-all", "--",
                                                   CLI.binary] + args + ["--format", "json"])
        let pid = child.pid
        let r = child.wait(timeout: 20)
        #expect(!r.signaled, "crashed: \(r)")
        #expect(r.status == 3, "\(args): \(r)")
        #expect(r.stderrLines.count == 1, "one line on stderr: \(r)")
        #expect(r.stderrLines.first?.contains("CAP_NET_ADMIN") == true, "\(r)")
        #expect(r.stdout.isEmpty, "no half-written report: \(r)")
        #expect(CLI.labNamespaces(of: pid).isEmpty, "a namespace was left behind")
    }

    @Test("an ordinary user (nobody): lab exits 3 with one line")
    func labAsNobody() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.setpriv), "setpriv (util-linux) is needed")
        let r = try CLI.runTool(Self.setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                               CLI.binary, "lab", "--quick", "--format", "json"])
        #expect(r.status == 3, "\(r)")
        #expect(r.stderrLines.count == 1 && r.stderrLines[0].hasPrefix("conndiag: "), "\(r)")
    }
}
