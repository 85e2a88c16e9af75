import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Glibc
import Testing

/// Real sessions decrypted with their key logs: curl --http2 (SSLKEYLOGFILE) against nghttpd
/// with an RSA certificate made by openssl, in a private network namespace, captured by
/// tcpdump; each TLS 1.2 and TLS 1.3 cipher suite forced in turn. `analyze --keylog` must
/// read the same HTTP/2 frames per type and direction, the same :status per stream and (TLS
/// 1.3) the same ALPN from EncryptedExtensions as tshark with the same key log.
/// (nghttp 1.52 writes no key log, so curl is the client here.) Root is needed for the
/// namespace; with CI=true the tests run or fail, never skip.
@Suite(.enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true", "needs root for the capture namespace"),
       .serialized)
struct LiveKeyLogCaptureTests {
    static let suites: [(name: String, curl: [String], suite: String)] = [
        ("t12-aes128", ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"], "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ("t12-aes256", ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"], "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("t12-chacha", ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305"], "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        ("t13-aes128", ["--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"], "TLS_AES_128_GCM_SHA256"),
        ("t13-aes256", ["--tlsv1.3", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384"], "TLS_AES_256_GCM_SHA384"),
        ("t13-chacha", ["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"], "TLS_CHACHA20_POLY1305_SHA256"),
    ]

    @Test(arguments: 0..<6)
    func curlAgainstNghttpdMatchesTshark(_ i: Int) throws {
        let s = Self.suites[i]
        let lab = try KeyLogLab()
        defer { lab.stop() }
        let (pcap, keys) = try lab.record(s.name, curl: s.curl)
        var o = AnalyzeOptions(files: [pcap])
        o.keyLogFiles = [keys]
        let r = try AnalyzeEngine(options: o).run()
        try #require(r.connections.count == 1)
        let c = r.connections[0]
        let tls = try #require(c.details.first { $0.0 == "tls" }?.1)
        #expect(tls["cipher_suite"] == .string(s.suite))
        #expect(c.protocolName == "http2")
        // tshark: frames per type and direction, statuses in stream order.
        let frames = try lab.tsharkFrames(pcap, keys: keys)
        #expect(!frames.isEmpty)
        let h2 = try #require(c.details.first { $0.0 == "http2" }?.1)
        var ours: [String: Int] = [:]
        if case .object(let sides)? = h2["frames"] {
            for (side, counts) in sides { if case .object(let byType) = counts { for (t, n) in byType { if case .int(let k) = n { ours["\(side) \(t)"] = Int(k) } } } }
        }
        #expect(ours == frames, "\(s.name)")
        let statuses = try lab.tshark(pcap, keys: keys, filter: "http2.headers.status", fields: ["http2.headers.status"]).flatMap { $0.split(separator: ",") }.map { Int($0)! }
        #expect(c.streams.compactMap { if case .int(let v)? = $0["http_status"] { return Int(v) } else { return nil } } == statuses)
        #expect(statuses == [200, 404])
        if s.name.hasPrefix("t13") {
            let alpn = try lab.tshark(pcap, keys: keys, filter: "tls.handshake.type == 8", fields: ["tls.handshake.extensions_alpn_str"])
            #expect(alpn == ["h2"])
            #expect(tls["alpn"] == .string("h2"))
        }
        #expect(!c.findings.contains { $0.kind == "tls-keylog-mismatch" || $0.kind == "tls-encrypted" })
    }

    /// 16 MB of DATA (over a thousand records, most split across segments) decrypted under
    /// TLS 1.3 ChaCha20 and TLS 1.2 AES-256-GCM: the same frames as tshark, every byte.
    @Test(arguments: [["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"], ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"]])
    func largeDownloadMatchesTshark(_ curl: [String]) throws {
        let lab = try KeyLogLab()
        defer { lab.stop() }
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom")).read(upToCount: 16 << 20)
        FileManager.default.createFile(atPath: lab.dir + "/www/big.bin", contents: random)
        let (pcap, keys) = try lab.record("big", curl: ["--limit-rate", "100M"] + curl, urls: ["/big.bin"])
        var o = AnalyzeOptions(files: [pcap])
        o.keyLogFiles = [keys]
        let c = try #require(try AnalyzeEngine(options: o).run().connections.first)
        var ours: [String: Int] = [:]
        if case .object(let sides)? = c.details.first(where: { $0.0 == "http2" })?.1["frames"] {
            for (side, counts) in sides { if case .object(let byType) = counts { for (t, n) in byType { if case .int(let k) = n { ours["\(side) \(t)"] = Int(k) } } } }
        }
        let theirs = try lab.tsharkFrames(pcap, keys: keys)
        if ours != theirs {
            // On a loaded machine (CI runs suites in parallel) 16 MB over loopback can see
            // retransmitted or reordered segments, and tshark's HTTP/2-over-TCP reassembly then
            // skips frames while analyze still holds every byte (checked below). A difference is
            // a failure only on a capture where tshark itself flags no such segment.
            let anomalies = try lab.tshark(pcap, keys: keys, filter: "tcp.analysis.retransmission || tcp.analysis.out_of_order || tcp.analysis.lost_segment || tcp.analysis.spurious_retransmission",
                                           fields: ["frame.number"])
            #expect(!anomalies.isEmpty, "frames differ on a clean capture: analyze \(ours), tshark \(theirs)")
        }
        #expect(c.streams.first?["data_bytes_server"] == .int(16 << 20))
        #expect(!c.findings.contains { $0.kind.hasPrefix("tls-keylog") || $0.kind == "tls-decryption-stopped" || $0.kind == "capture-gap" })
    }

    /// editcap puts the key log into the capture; analyze then needs no --keylog.
    @Test func secretsInjectedByEditcap() throws {
        let lab = try KeyLogLab()
        defer { lab.stop() }
        let (pcap, keys) = try lab.record("dsb", curl: ["--tlsv1.3"])
        let ng = lab.dir + "/dsb.pcapng"
        try lab.run(["editcap", "--inject-secrets", "tls,\(keys)", pcap, ng])
        let r = try AnalyzeEngine(options: AnalyzeOptions(files: [ng])).run()
        try #require(r.connections.count == 1)
        #expect(r.connections[0].protocolName == "http2")
        #expect(r.connections[0].streams.count == 2)
    }
}

/// gRPC over TLS: a grpcio server with TLS credentials (the lab's RSA certificate) on
/// 127.0.0.1:8443, called by curl --http2 with a gRPC-framed body (curl writes the key log;
/// grpcio's BoringSSL writes none): one call answered OK, one aborted NOT_FOUND. tshark with
/// the key log reads the grpc-status trailers (0, 5); analyze must read the same per stream,
/// call the connection grpc, and count the same frames.
@Suite(.enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true", "needs root for the capture namespace"))
struct LiveGRPCKeyLogTests {
    static let server = #"""
import sys, grpc
from concurrent import futures
def ok(req, ctx): return b"pong"
def missing(req, ctx): ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
ident = lambda b: b
handlers = {"Ok": grpc.unary_unary_rpc_method_handler(ok, request_deserializer=ident, response_serializer=ident),
            "Missing": grpc.unary_unary_rpc_method_handler(missing, request_deserializer=ident, response_serializer=ident)}
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("conndiag.Lab", handlers),))
creds = grpc.ssl_server_credentials([(open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read())])
server.add_secure_port("127.0.0.1:8443", creds)
server.start()
server.wait_for_termination()
"""#

    @Test func grpcStatusesThroughTLS13() throws {
        let lab = try KeyLogLab(server: ["python3", "-c", Self.server, "KEY", "CERT"])
        defer { lab.stop() }
        let body = lab.dir + "/msg.bin"
        FileManager.default.createFile(atPath: body, contents: Data([0, 0, 0, 0, 4] + Array("ping".utf8)))
        let grpc = ["-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "@" + body]
        let (pcap, keys) = try lab.record("grpc", curl: ["--tlsv1.3"] + grpc, urls: ["/conndiag.Lab/Ok", "/conndiag.Lab/Missing"])
        var statuses: [String] = []
        // Header values hold commas ("identity, deflate"): occurrences joined with "|".
        for line in try lab.tshark(pcap, keys: keys, filter: "http2.header.name == \"grpc-status\"", fields: ["http2.header.name", "http2.header.value"], extra: ["-E", "aggregator=|"]) {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.split(separator: "|", omittingEmptySubsequences: false) }
            guard parts.count == 2 else { continue }
            for (n, v) in zip(parts[0], parts[1]) where n == "grpc-status" { statuses.append(String(v)) }
        }
        #expect(statuses == ["0", "5"])
        var o = AnalyzeOptions(files: [pcap])
        o.keyLogFiles = [keys]
        let r = try AnalyzeEngine(options: o).run()
        try #require(r.connections.count == 1)
        let c = r.connections[0]
        #expect(c.protocolName == "grpc")
        #expect(c.streams.map { $0["grpc_status"] } == [.string("OK"), .string("NOT_FOUND")])
        #expect(c.streams.last?["grpc_message"] == .string("no such thing"))
        let frames = try lab.tsharkFrames(pcap, keys: keys)
        var ours: [String: Int] = [:]
        if case .object(let sides)? = c.details.first(where: { $0.0 == "http2" })?.1["frames"] {
            for (side, counts) in sides { if case .object(let byType) = counts { for (t, n) in byType { if case .int(let k) = n { ours["\(side) \(t)"] = Int(k) } } } }
        }
        #expect(ours == frames)
    }
}

/// A namespace with loopback, nghttpd on 127.0.0.1:8443 with an RSA certificate, and the
/// capture/oracle helpers.
final class KeyLogLab {
    let dir: String
    let ns = "cdtest-\(getpid())-kl\(Int.random(in: 0..<1_000_000))"
    private var server: Process?

    /// `server` is the peer to start in the namespace (KEY and CERT replaced by the files);
    /// nghttpd serving two files by default.
    init(server peerCommand: [String]? = nil) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cdtest-\(getpid())-kl-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/www", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/www/index.html", contents: Data("hello\n".utf8))
        try run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
                 "-days", "2", "-subj", "/CN=tls.cdtest"])
        try run(["ip", "netns", "add", ns])
        try run(["ip", "-n", ns, "link", "set", "lo", "up"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let peer = (peerCommand ?? ["nghttpd", "-a", "127.0.0.1", "-d", dir + "/www", "8443", "KEY", "CERT"])
            .map { $0 == "KEY" ? dir + "/key.pem" : $0 == "CERT" ? dir + "/cert.pem" : $0 == "WWW" ? dir + "/www" : $0 }
        p.arguments = ["ip", "netns", "exec", ns] + peer
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        for _ in 0..<200 {
            if (try? run(["ip", "netns", "exec", ns, "ss", "-Hltn", "sport", "=", "8443"]))?.contains("8443") == true { return }
            usleep(100_000)
        }
        throw TLSLab.LabError("nghttpd did not listen on 127.0.0.1:8443 within 20 s")
    }

    /// Runs a command, its status checked.
    @discardableResult
    static func sh(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TLSLab.LabError("\(args.joined(separator: " ")) exited \(p.terminationStatus)") }
        return text
    }

    func stop() {
        if let s = server, s.isRunning { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        server = nil
        _ = try? run(["ip", "netns", "del", ns])
        try? FileManager.default.removeItem(atPath: dir)
    }

    @discardableResult
    func run(_ args: [String], environment: [String: String]? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TLSLab.LabError("\(args.joined(separator: " ")) exited \(p.terminationStatus)") }
        return text
    }

    /// Two GETs (200, 404) by curl with its key log, captured; returns the capture and the key log.
    func record(_ name: String, curl: [String], urls: [String] = ["/index.html", "/missing"]) throws -> (String, String) {
        let file = dir + "/\(name).pcap", keys = dir + "/\(name).keys"
        let tcpdump = try TLSLab.startTcpdump(ns: ns, file: file, filter: ["tcp", "port", "8443"], options: ["-B", "131072", "--immediate-mode"])
        try run(["ip", "netns", "exec", ns, "curl", "-sk", "--http2"] + curl
                + ["--resolve", "tls.cdtest:8443:127.0.0.1"] + urls.flatMap { ["https://tls.cdtest:8443" + $0, "-o", "/dev/null"] },
                environment: ["SSLKEYLOGFILE": keys])
        usleep(300_000)
        TLSLab.stopTcpdump(tcpdump, file: file)
        return (file, keys)
    }

    /// tshark's fields with the key log, one line per packet.
    func tshark(_ file: String, keys: String, filter: String, fields: [String], extra: [String] = []) throws -> [String] {
        try run(["tshark", "-r", file, "-o", "tls.keylog_file:\(keys)", "-d", "tcp.port==8443,tls", "-Y", filter, "-T", "fields"]
                + extra + fields.flatMap { ["-e", $0] })
            .split(separator: "\n").map(String.init)
    }

    /// tshark's HTTP/2 frames counted by "side TYPE" (side from the TCP source port).
    func tsharkFrames(_ file: String, keys: String) throws -> [String: Int] {
        let names = [0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"]
        var counts: [String: Int] = [:]
        for line in try tshark(file, keys: keys, filter: "http2", fields: ["tcp.srcport", "http2.type"]) {
            let parts = line.split(separator: "\t")
            guard parts.count == 2 else { continue }
            let side = parts[0] == "8443" ? "server" : "client"
            for t in parts[1].split(separator: ",") { counts["\(side) \(names[Int(t)!] ?? String(t))", default: 0] += 1 }
        }
        return counts
    }
}

/// TLS 1.3 KeyUpdate on a real connection: openssl s_client sends one for each "k"/"K" line
/// (and logs CLIENT_TRAFFIC_SECRET_N, which analyze derives itself). tshark with the key log
/// reads the client's two KeyUpdates (handshake type 24) and both sides' close_notify after
/// them; analyze must decrypt through both updates to the same alerts.
@Suite(.enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true", "needs root for the capture namespace"))
struct LiveKeyUpdateTests {
    @Test func decryptsAcrossKeyUpdates() throws {
        let lab = try TLSLab()
        let file = lab.dir + "/ku.pcap", keys = lab.dir + "/ku.keys"
        let tcpdump = try TLSLab.startTcpdump(ns: lab.ns, file: file, filter: ["tcp", "port", "4433"], options: ["--immediate-mode"])
        let serverIn = Pipe()
        let s = Process()
        s.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        s.arguments = ["ip", "netns", "exec", lab.ns, "openssl", "s_server", "-accept", "127.0.0.1:4433", "-naccept", "1", "-tls1_3",
                       "-cert", lab.dir + "/srv.pem", "-key", lab.dir + "/srv.key"]
        s.standardInput = serverIn
        s.standardOutput = FileHandle.nullDevice
        s.standardError = FileHandle.nullDevice
        try s.run()
        for _ in 0..<200 {
            if (try? lab.run(["ip", "netns", "exec", lab.ns, "ss", "-Hltn", "sport", "=", "4433"]))?.contains("4433") == true { break }
            usleep(100_000)
        }
        let clientIn = Pipe()
        let c = Process()
        c.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        c.arguments = ["ip", "netns", "exec", lab.ns, "timeout", "10", "openssl", "s_client", "-connect", "127.0.0.1:4433", "-tls1_3", "-keylogfile", keys]
        c.standardInput = clientIn
        c.standardOutput = FileHandle.nullDevice
        c.standardError = FileHandle.nullDevice
        try c.run()
        for line in ["hello\n", "k\n", "after one update\n", "K\n", "after two\n"] {
            usleep(300_000)
            clientIn.fileHandleForWriting.write(Data(line.utf8))
        }
        usleep(300_000)
        try? clientIn.fileHandleForWriting.close()
        c.waitUntilExit()
        try? serverIn.fileHandleForWriting.close()
        if s.isRunning { kill(s.processIdentifier, SIGTERM) }
        s.waitUntilExit()
        TLSLab.stopTcpdump(tcpdump, file: file)

        func tshark(_ filter: String, _ field: String) throws -> [String] {
            try lab.run(["tshark", "-r", file, "-o", "tls.keylog_file:\(keys)", "-d", "tcp.port==4433,tls", "-Y", filter, "-T", "fields", "-e", "tcp.srcport", "-e", field])
                .split(separator: "\n").map(String.init)
        }
        let updates = try tshark("tls.handshake.type == 24", "tls.handshake.type")
        #expect(updates.count == 2 && updates.allSatisfy { !$0.hasPrefix("4433") })
        let tsharkAlerts = try tshark("tls.alert_message", "tls.alert_message.desc")
        #expect(tsharkAlerts.map { $0.split(separator: "\t").last.map(String.init) } == ["0", "0"])

        var o = AnalyzeOptions(files: [file])
        o.keyLogFiles = [keys]
        let r = try AnalyzeEngine(options: o).run()
        try #require(r.connections.count == 1)
        let conn = r.connections[0]
        #expect(!r.inputProblems.contains { $0.contains("could not be used") }, "CLIENT_TRAFFIC_SECRET_N is not a problem")
        #expect(conn.events.filter { $0.kind == "tls-key-update" }.count == 2)
        let tls = try #require(conn.details.first { $0.0 == "tls" }?.1)
        guard case .array(let alerts)? = tls["alerts"] else { Issue.record("no alerts"); return }
        #expect(alerts.map { $0["description"] } == [.string("close_notify"), .string("close_notify")])
        #expect(!conn.findings.contains { $0.kind.hasPrefix("tls-keylog") || $0.kind == "tls-decryption-stopped" })
    }
}
