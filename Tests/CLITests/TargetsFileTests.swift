import Foundation
import Glibc
import Testing

/// `probe --targets FILE` and `--targets -` (standard input): one target per line, `#`
/// comments, blank lines and white space around a target ignored; a bad line is a usage
/// error that names its line. Only loopback ports this process holds are probed.
@Suite("probe --targets: a file or standard input")
struct TargetsFileTests {
    /// A pipe holding `text` with its write end closed, as `cat list | conndiag` gives.
    func pipe(_ text: String) throws -> FileHandle {
        let p = Pipe()
        try p.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        try p.fileHandleForWriting.close()
        return p.fileHandleForReading
    }

    /// A temporary file holding `text`, removed when the test ends.
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cdtargets-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func probedTargets(_ r: CLI.Result) throws -> [[String: Any]] {
        let doc = try JSON.object(r.stdout)
        return try #require(doc["targets"] as? [[String: Any]], "\(r)")
    }

    @Test("standard input: comments, blank lines and tabs or spaces around a target are ignored")
    func standardInput() throws {
        let closed = try LoopbackPort(listening: false)
        let r = try CLI.run(["probe", "--targets", "-", "--format", "json"],
                            stdin: try pipe("\t# the list\n  \(closed.target)\t# a closed port\n\n \t \n"))
        #expect(r.status == 1, "\(r)")
        let targets = try probedTargets(r)
        #expect(targets.count == 1, "\(r)")
        let target = targets.first?["target"] as? [String: Any]
        #expect(target?["port"] as? Int == Int(closed.port), "\(r)")
        #expect((targets.first?["outcome"] as? [String: Any])?["status"] as? String == "refused", "\(r)")
    }

    @Test("a file: the same lines give the same target")
    func namedFile() throws {
        let closed = try LoopbackPort(listening: false)
        let path = try file("# the list\n   \(closed.target)   \n")
        defer { unlink(path) }
        let r = try CLI.run(["probe", "--targets", path, "--format", "json"])
        #expect(r.status == 1, "\(r)")
        let targets = try probedTargets(r)
        #expect(targets.count == 1, "\(r)")
        #expect((targets.first?["target"] as? [String: Any])?["port"] as? Int == Int(closed.port), "\(r)")
    }

    @Test("a bad line on standard input: exit 2, one line naming the line")
    func badLine() throws {
        let r = try CLI.run(["probe", "--targets", "-"], stdin: try pipe("# list\n\n  not:a:target  # oops\n"))
        #expect(r.status == 2, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(r.stderrLines.count == 1, "\(r)")
        #expect(r.stderrLines.first?.hasPrefix("conndiag: --targets - line 3: ") == true, "\(r)")
    }

    @Test("standard input longer than one read is read to its end")
    func longInput() throws {
        // 200 KiB of comments, then a bad line: its number shows every byte was read.
        let comments = String(repeating: "# " + String(repeating: "x", count: 1021) + "\n", count: 200)
        let path = try file(comments + "not:a:target\n")
        defer { unlink(path) }
        let r = try CLI.run(["probe", "--targets", "-"], stdin: try #require(FileHandle(forReadingAtPath: path)))
        #expect(r.status == 2, "\(r)")
        #expect(r.stderrLines.first?.hasPrefix("conndiag: --targets - line 201: ") == true, "\(r)")
    }
}
