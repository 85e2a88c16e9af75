import Foundation
import Testing

/// Start-up time (README, "Start-up and report latency"): loading Foundation and ICU was
/// about 7 ms of every run, so no target of the executable imports Foundation
/// (FoundationEssentials, Glibc and ConnDiagPlatform serve instead). Tests may use it.
@Suite("The executable does without Foundation")
struct FoundationFreeTests {
    @Test("no source file of a non-test target imports Foundation")
    func noImport() throws {
        let sources = CLI.repoRoot.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            let imports = text.split(separator: "\n").filter {
                let words = $0.split(separator: " ")
                return words.contains("import") && words.last.map { $0 == "Foundation" } == true
            }
            #expect(imports.isEmpty, "Sources/\(file) imports Foundation: \(imports)")
        }
    }

    @Test("the binary does not load libFoundation or ICU")
    func notLinked() throws {
        let r = try CLI.runTool("/usr/bin/env", ["ldd", CLI.binary])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("libswiftCore"), "\(r)")
        for library in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"] {
            #expect(!r.stdout.contains(library), "\(library) is linked:\n\(r.stdout)")
        }
    }
}
