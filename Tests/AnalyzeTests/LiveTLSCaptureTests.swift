import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Glibc
import Testing

/// Real TLS peers (`openssl s_server` / `s_client`) on loopback in a private network namespace,
/// captured by tcpdump, then analysed. Every expectation is also checked with tshark on the
/// same file (the oracle), and the alert descriptions with RFC 8446 §6 / RFC 5246 §7.2 codes.
/// Root is needed for the namespace; with CI=true the tests run or fail, never skip.
@Suite(.enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true", "needs root for the capture namespace"),
       .serialized)
struct LiveTLSCaptureTests {
    @Test func tls12WithALPNh2() throws {
        let lab = try TLSLab()
        let f = try lab.record("t12", server: ["-alpn", "h2"], client: ["-tls1_2", "-alpn", "h2", "-CAfile", lab.ca, "-verify_return_error"])
        // tshark: ServerHello (2) selects h2 with 0x0303; the leaf is CN=tls.cdtest.
        #expect(try lab.tshark(f, "tls.handshake.type == 2", "tls.handshake.extensions_alpn_str") == ["h2"])
        #expect(try lab.tshark(f, "tls.handshake.type == 2", "tls.handshake.version") == ["0x0303"])
        let c = try lab.analyzeOne(f)
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(c.protocolName == "tls")
        #expect(tls["version"] == .string("TLS 1.2"))
        #expect(tls["sni"] == .string("tls.cdtest"))
        #expect(tls["alpn"] == .string("h2"))
        #expect(tls["certificate_subject"] == .string("O=conndiag lab,CN=tls.cdtest"))
        #expect(tls["handshake_complete"] == .bool(true))
        #expect(c.outcome.mechanism != .tlsAlert)
        #expect(c.findings.contains { $0.kind == "tls-encrypted" && $0.summary.contains("(TLS 1.2, ALPN h2)") })
        // Both sides close with an encrypted alert record (type 21 after CCS: 26 bytes under
        // AES-GCM, close_notify as s_client and s_server send it) before their FIN.
        #expect(try lab.tshark(f, "tls.record.content_type == 21", "tls.record.length") == ["26", "26"])
        let alerts = try #require(tls["alerts"].flatMap { if case .array(let a) = $0 { return a } else { return nil } })
        #expect(alerts.map { $0["description"] } == [.string("encrypted alert (probably close_notify)"), .string("encrypted alert (probably close_notify)")])
        #expect(!c.findings.contains { $0.kind == "tls-truncation" })
    }

    @Test func tls13WithALPNh2() throws {
        let lab = try TLSLab()
        let f = try lab.record("t13", server: ["-alpn", "h2"], client: ["-tls1_3", "-alpn", "h2", "-CAfile", lab.ca, "-verify_return_error"])
        #expect(try lab.tshark(f, "tls.handshake.type == 2", "tls.handshake.extensions.supported_version") == ["0x0304"])
        let c = try lab.analyzeOne(f)
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["version"] == .string("TLS 1.3"))
        #expect(tls["alpn_offered"] == .array([.string("h2")]))
        #expect(tls["alpn"] == .null, "TLS 1.3 selects ALPN in EncryptedExtensions")
        #expect(tls["alpn_note"] != nil)
        #expect(tls["certificate_subject"] == .null)
        #expect(c.protocolDetail == "TLS 1.3, SNI tls.cdtest, ALPN offered h2 (choice encrypted)")
        #expect(c.outcome.mechanism != .tlsAlert)
    }

    @Test func tls12UnknownCA() throws {
        let lab = try TLSLab()
        let f = try lab.record("unknownca12", server: [], client: ["-tls1_2", "-verify_return_error"])
        // tshark: the client's alert, fatal (2) unknown_ca (48), in clear.
        #expect(try lab.tshark(f, "tls.alert_message", "tls.alert_message.desc") == ["48"])
        let c = try lab.analyzeOne(f)
        #expect(c.outcome.mechanism == .tlsAlert)
        #expect(c.extra("alert_from") == .string("client"))
        #expect(c.extra("alert") == .string("unknown_ca"))
        #expect(c.findings.contains { $0.kind == "tls-alert" && $0.severity == .critical })
    }

    @Test func tls13UnknownCAIsSentInClearByOpenSSL() throws {
        let lab = try TLSLab()
        let f = try lab.record("unknownca13", server: [], client: ["-tls1_3", "-verify_return_error"])
        #expect(try lab.tshark(f, "tls.alert_message", "tls.alert_message.desc") == ["48"])
        let c = try lab.analyzeOne(f)
        #expect(c.outcome.mechanism == .tlsAlert)
        #expect(c.extra("alert") == .string("unknown_ca"))
    }

    @Test func tls12ServerRequiresAClientCertificate() throws {
        let lab = try TLSLab()
        let f = try lab.record("clientcert12", server: ["-Verify", "1", "-CAfile", lab.ca], client: ["-tls1_2", "-CAfile", lab.ca])
        // tshark: the server's fatal handshake_failure (40) after the client's empty Certificate.
        #expect(try lab.tshark(f, "tls.alert_message", "tls.alert_message.desc") == ["40"])
        let c = try lab.analyzeOne(f)
        #expect(c.outcome.mechanism == .tlsAlert)
        #expect(c.extra("alert_from") == .string("server"))
        #expect(c.extra("alert") == .string("handshake_failure"))
    }

    @Test func tls13ServerRequiresAClientCertificate() throws {
        let lab = try TLSLab()
        let f = try lab.record("clientcert13", server: ["-Verify", "1", "-CAfile", lab.ca], client: ["-tls1_3", "-CAfile", lab.ca])
        // tshark sees the server's last record as 19 bytes of opaque application data: an alert
        // (certificate_required, RFC 8446 §4.4.2.4) under AEAD, its content hidden.
        #expect(try lab.tshark(f, "tcp.srcport == 4433 and tls.record.opaque_type == 23", "tls.record.length").last == "19")
        let c = try lab.analyzeOne(f)
        #expect(c.outcome.mechanism == .tlsAlert)
        #expect(c.extra("alert_from") == .string("server"))
        #expect(c.extra("alert")?.string?.hasPrefix("encrypted alert (probably fatal") == true)
    }

    @Test func alpnMismatchIsNoApplicationProtocol() throws {
        let lab = try TLSLab()
        let f = try lab.record("alpn", server: ["-alpn", "h2"], client: ["-tls1_2", "-alpn", "http/1.1", "-CAfile", lab.ca])
        #expect(try lab.tshark(f, "tls.alert_message", "tls.alert_message.desc") == ["120"])
        let c = try lab.analyzeOne(f)
        #expect(c.outcome.mechanism == .tlsAlert)
        #expect(c.extra("alert_from") == .string("server"))
        #expect(c.extra("alert") == .string("no_application_protocol"))
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["alpn_offered"] == .array([.string("http/1.1")]))
    }
}

/// A namespace with loopback, a CA and a server certificate made by openssl in a temp dir.
final class TLSLab {
    let dir: String
    let ns = "cdtest-\(getpid())-tls\(Int.random(in: 0..<1_000_000))"
    var ca: String { dir + "/ca.pem" }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdtest-\(getpid())-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try run(["openssl", "req", "-x509"] + ec + ["-keyout", dir + "/ca.key", "-out", ca, "-days", "2", "-subj", "/CN=cdtest CA"])
        try run(["openssl", "req"] + ec + ["-keyout", dir + "/srv.key", "-out", dir + "/srv.csr", "-subj", "/CN=tls.cdtest/O=conndiag lab"])
        try run(["openssl", "x509", "-req", "-in", dir + "/srv.csr", "-CA", ca, "-CAkey", dir + "/ca.key", "-CAcreateserial",
                 "-out", dir + "/srv.pem", "-days", "2"])
        try run(["ip", "netns", "add", ns])
        try run(["ip", "-n", ns, "link", "set", "lo", "up"])
    }

    deinit {
        _ = try? run(["ip", "netns", "del", ns])
        try? FileManager.default.removeItem(atPath: dir)
    }

    @discardableResult
    func run(_ args: [String], stdin: FileHandle? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        if let stdin { p.standardInput = stdin }
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LabError("\(args.joined(separator: " ")) exited \(p.terminationStatus)") }
        return text
    }

    /// Children inherit the test thread's blocked signals (Foundation's Process keeps the
    /// mask), so tcpdump would never see SIGINT: start it through a python that clears the mask.
    static let unblockingSignals = ["python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"]

    struct LabError: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = d } }

    /// tcpdump on namespace `ns`'s loopback writing `file` (`filter` as words), started
    /// through `unblockingSignals` and returned once it says "listening on".
    static func startTcpdump(ns: String, file: String, filter: [String], options: [String] = []) throws -> Process {
        let tcpdump = Process()
        tcpdump.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tcpdump.arguments = unblockingSignals + ["ip", "netns", "exec", ns, "tcpdump"] + options + ["-i", "lo", "-U", "-w", file] + filter
        let tdErr = Pipe()
        tcpdump.standardError = tdErr
        tcpdump.standardOutput = FileHandle.nullDevice
        try tcpdump.run()
        var seen = ""
        while !seen.contains("listening on") {
            let d = tdErr.fileHandleForReading.availableData
            if d.isEmpty { throw LabError("tcpdump ended: \(seen)") }
            seen += String(decoding: d, as: UTF8.self)
        }
        return tcpdump
    }

    /// Stops a `startTcpdump` capture once its file has stopped growing: tcpdump -U writes
    /// each packet as it reads it, but SIGINT stops it without reading what is still in its
    /// buffer (a loaded machine can delay tcpdump by seconds).
    static func stopTcpdump(_ tcpdump: Process, file: String) {
        waitUntilStable(file)
        kill(tcpdump.processIdentifier, SIGINT)
        tcpdump.waitUntilExit()
    }

    /// Waits (up to 10 s) until `path` has kept its size for half a second.
    static func waitUntilStable(_ path: String) {
        var last = -1, stableSince = Date()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
            if size != last { last = size; stableSince = Date() }
            else if size > 24 && Date().timeIntervalSince(stableSince) >= 0.5 { return }
            usleep(50_000)
        }
    }

    /// One s_client session against one s_server, captured on the namespace's loopback.
    func record(_ name: String, server: [String], client: [String]) throws -> String {
        let file = dir + "/\(name).pcap"
        let tcpdump = try TLSLab.startTcpdump(ns: ns, file: file, filter: ["tcp", "port", "4433"])
        // s_server quits at end of input: keep its stdin open until the client is done.
        let serverIn = Pipe()
        let s = Process()
        s.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        s.arguments = TLSLab.unblockingSignals + ["ip", "netns", "exec", ns, "openssl", "s_server", "-accept", "127.0.0.1:4433", "-naccept", "1",
                       "-cert", dir + "/srv.pem", "-key", dir + "/srv.key"] + server
        s.standardInput = serverIn
        s.standardOutput = FileHandle.nullDevice
        s.standardError = FileHandle.nullDevice
        try s.run()
        // Under a loaded parallel test run s_server can take seconds to listen: wait for it
        // (up to 20 s), and say so plainly rather than analyse an empty capture.
        var listening = false
        for _ in 0..<200 {
            if (try? run(["ip", "netns", "exec", ns, "ss", "-Hltn", "sport", "=", "4433"]))?.contains("4433") == true { listening = true; break }
            usleep(100_000)
        }
        if !listening { throw LabError("openssl s_server did not listen on 127.0.0.1:4433 within 20 s") }
        let clientIn = Pipe()
        let c = Process()
        c.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        c.arguments = ["ip", "netns", "exec", ns, "timeout", "10", "openssl", "s_client", "-connect", "127.0.0.1:4433",
                       "-servername", "tls.cdtest"] + client
        c.standardInput = clientIn
        c.standardOutput = FileHandle.nullDevice
        c.standardError = FileHandle.nullDevice
        try c.run()
        clientIn.fileHandleForWriting.write(Data("hi\n".utf8))
        usleep(300_000)
        try? clientIn.fileHandleForWriting.close()
        c.waitUntilExit()
        // s_server -naccept 1 exits once the session ends (after its own close_notify): give
        // it up to 5 s on a loaded machine before stopping it, or its alert is never sent.
        for _ in 0..<100 where s.isRunning { usleep(50_000) }
        try? serverIn.fileHandleForWriting.close()
        if s.isRunning { kill(s.processIdentifier, SIGTERM) }
        s.waitUntilExit()
        TLSLab.stopTcpdump(tcpdump, file: file)
        return file
    }

    /// tshark's fields of the packets matching `filter` (port 4433 decoded as TLS), one
    /// value per line, occurrences split on commas.
    func tshark(_ file: String, _ filter: String, _ field: String) throws -> [String] {
        try run(["tshark", "-r", file, "-d", "tcp.port==4433,tls", "-Y", filter, "-T", "fields", "-e", field])
            .split(whereSeparator: { $0 == "\n" || $0 == "," }).map(String.init)
    }

    func analyzeOne(_ file: String) throws -> ConnectionReport {
        let r = try Fixture.analyze(path: file)
        try #require(r.connections.count == 1, "\(r.connections.map { $0.outcome.summary })")
        return r.connections[0]
    }
}
