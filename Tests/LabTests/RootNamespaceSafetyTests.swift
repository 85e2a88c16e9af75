import Foundation
import Testing
import Glibc

/// Nothing conndiag does touches the root namespace's firewall, routes, links, rules or
/// sysctls: every fault lives inside namespaces the lab makes. Snapshot all of it before and
/// after the whole lab matrix and compare.
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct RootNamespaceSafetyTests {
    struct Snapshot {
        var commands: [String: String] = [:]
        var sysctls: [String: String] = [:]
    }

    static let commandsToSnapshot: [[String]] = [
        ["iptables-save"], ["ip6tables-save"],
        ["ip", "-o", "link", "show"], ["ip", "-o", "addr", "show"],
        ["ip", "route", "show", "table", "all"], ["ip", "-6", "route", "show", "table", "all"],
        ["ip", "rule", "show"], ["ip", "-6", "rule", "show"],
    ]

    static func run(_ args: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let o = Pipe(); p.standardOutput = o; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "<cannot run>" }
        let d = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        // iptables-save stamps times and packet counters; neither is a change of rules.
        return String(decoding: d, as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "[*]", options: .regularExpression) }
            .joined(separator: "\n")
    }

    static func snapshot() -> Snapshot {
        var s = Snapshot()
        for c in commandsToSnapshot { s.commands[c.joined(separator: " ")] = run(c) }
        if let walker = FileManager.default.enumerator(atPath: "/proc/sys/net") {
            for case let rel as String in walker {
                let path = "/proc/sys/net/" + rel
                if let v = try? String(contentsOfFile: path, encoding: .utf8) { s.sysctls[path] = v }
            }
        }
        return s
    }

    @Test func theWholeLabMatrixLeavesTheRootNamespaceAsItWas() throws {
        try LabGate.requireGRPCIO()
        let before = Self.snapshot()
        #expect(before.sysctls.count > 100, "could not read /proc/sys/net")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: TimingLabMatrixTests.binary)
        p.arguments = ["lab", "--quick", "--format", "json"]
        let out = Pipe(); p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "lab printed no JSON")
        let scenarios = doc["scenarios"] as? [[String: Any]] ?? []
        #expect(scenarios.count >= 20, "the matrix ran \(scenarios.count) scenarios")

        let after = Self.snapshot()
        for (cmd, text) in before.commands {
            #expect(after.commands[cmd] == text, "`\(cmd)` changed:\nbefore:\n\(text)\nafter:\n\(after.commands[cmd] ?? "")")
        }
        let changed = before.sysctls.filter { k, v in after.sysctls[k].map { $0 != v } ?? false }.keys.sorted()
        #expect(changed.isEmpty, "root-namespace sysctls changed: \(changed)")
        let removed = before.sysctls.keys.filter { after.sysctls[$0] == nil }.sorted()
        #expect(removed.isEmpty, "root-namespace sysctls vanished: \(removed)")
        // The one host-wide side effect allowed: the kernel loads conntrack on first use in any
        // namespace, which adds its (default-valued) net.netfilter sysctls.
        let added = after.sysctls.keys.filter { before.sysctls[$0] == nil && !$0.hasPrefix("/proc/sys/net/netfilter/") }.sorted()
        #expect(added.isEmpty, "root-namespace sysctls appeared: \(added)")
    }
}
