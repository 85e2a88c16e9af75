import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagOutput
import Foundation
import Testing

/// `analyze` against tshark on every capture other projects recorded (Fixtures/wild): the
/// same TCP connections (tshark's `tcp.stream`), the same packets from each side, the same
/// senders of RSTs, and — where the capture carries HTTP/2 in clear — the same frames per
/// type and direction, the same RST_STREAM and GOAWAY error codes, and the same `:status`
/// and `grpc-status` per stream. The expectations are tshark's reading of the file at test
/// time, never what `analyze` printed once. Verdicts (outcome, mechanism, findings) are
/// checked per capture in the Wild*Tests suites, from the RFCs.
@Suite struct TsharkOracleTests {
    /// The ports that carry HTTP/2 in each capture, from the captures' sources
    /// (Fixtures/wild/SOURCES.md): tshark needs them to decode HTTP/2 off its usual ports.
    /// Ports not named here are decoded by tshark's own dissectors (HTTP with Upgrade: h2c,
    /// HTTP CONNECT tunnels, TLS).
    static let http2Ports: [String: [UInt16]] = [
        "sv-http2-errorcode.pcap": [6233],
        "grpc-bidi.pcapng": [50051],
        "grpc-server-streaming.pcapng": [50051],
        "grpc-unary.pcapng": [50051],
        "sv-http2-bugfixes.pcap": [443],
        "sv-http2-keywords.pcap": [3000],
        "sv-http2-long-frame.pcap": [8443],
        "lab:grpc-drain": [50051],
        "lab:proxy-reset": [3000],
        "lab:flow-control-stall": [50077],
    ]

    /// Every wild capture, and our own lab recordings ("lab:NAME") held to the same oracle.
    static var files: [String] { Fixture.wildFiles + GoldenOutputTests.fixtures.map { "lab:" + $0 } }

    static func path(_ file: String) -> String {
        file.hasPrefix("lab:") ? Fixture.path(String(file.dropFirst(4))) : Fixture.wild(file)
    }

    @Test(arguments: files)
    func sameConnectionsAndPacketsAsTshark(file: String) throws {
        let path = Self.path(file)
        let oracle = try TsharkReading.tcp(path)
        let ours = try AnalyzeJSON(path: path, http2Ports: Self.http2Ports[file] ?? [])
        #expect(ours.connections.map(\.pairKey).sorted() == oracle.map(\.pairKey).sorted(),
                "connections (tshark tcp.stream) differ in \(file)")
        for conv in oracle {
            guard let c = ours.connections.first(where: { $0.pairKey == conv.pairKey && $0.firstPacketsMatch(conv) }) ??
                    ours.connections.first(where: { $0.pairKey == conv.pairKey }) else { continue }
            #expect(c.packets == conv.packets, "packets per side of \(conv.pairKey) in \(file): analyze \(c.packets), tshark \(conv.packets)")
            #expect(c.rstSenders == conv.rstSenders, "RST senders of \(conv.pairKey) in \(file): analyze \(c.rstSenders), tshark \(conv.rstSenders)")
        }
    }

    /// No outcome may contradict what tshark saw: a reset by a side that sent no RST, a close
    /// by a FIN nobody sent, a handshake timeout on a connection whose server answered.
    @Test(arguments: files)
    func outcomesAgreeWithTshark(file: String) throws {
        let path = Self.path(file)
        let oracle = try TsharkReading.tcp(path)
        let ours = try AnalyzeJSON(path: path, http2Ports: Self.http2Ports[file] ?? [])
        for c in ours.connections {
            guard let conv = oracle.first(where: { $0.pairKey == c.pairKey }) else { continue }
            let what = "\(c.pairKey) in \(file) (\(c.status)/\(c.mechanism))"
            switch c.mechanism {
            case "peer-rst": #expect(conv.rstSenders.contains(c.server), "a reset by the server that sent no RST: \(what)")
            case "rst": #expect(!conv.rstSenders.isEmpty, "a reset with no RST on the wire: \(what)")
            case "peer-fin": #expect(conv.finSenders.contains(c.server), "a close by a server that sent no FIN: \(what)")
            default: break
            }
            if c.status == "refused" { #expect(conv.rstSenders.contains(c.server), "refused without a server RST: \(what)") }
            if c.status == "timeout" && c.mechanism == "syn-retries-exhausted" {
                #expect(conv.packets[c.server, default: 0] == 0, "a handshake timeout although the server answered: \(what)")
            }
        }
    }

    @Test(arguments: files)
    func sameHTTP2FramesAsTshark(file: String) throws {
        let path = Self.path(file)
        let ports = Self.http2Ports[file] ?? []
        let oracle = try TsharkReading.http2(path, ports: ports)
        let ours = try AnalyzeJSON(path: path, http2Ports: ports)
        for c in ours.connections where oracle[c.pairKey] == nil {
            #expect(c.frames.isEmpty, "analyze decoded HTTP/2 frames on \(c.pairKey) in \(file) where tshark sees none: \(c.frames)")
        }
        for (pair, h2) in oracle {
            guard let c = ours.connections.first(where: { $0.pairKey == pair }) else {
                Issue.record("tshark sees HTTP/2 on \(pair) in \(file); analyze has no such connection")
                continue
            }
            #expect(c.frames == h2.frames, "HTTP/2 frames per sender and type on \(pair) in \(file): analyze \(c.frames), tshark \(h2.frames)")
            #expect(c.goaways == h2.goaways, "GOAWAY (sender, error) on \(pair) in \(file): analyze \(c.goaways), tshark \(h2.goaways)")
            if let resets = c.resets {
                #expect(resets == h2.resets, "RST_STREAM (sender, stream, error) on \(pair) in \(file): analyze \(resets), tshark \(h2.resets)")
            }
            for (id, heads) in h2.streamHeaders {
                let s = c.streams[id]
                if let status = heads.status {
                    #expect(s?.status == status, ":status of stream \(id) on \(pair) in \(file): analyze \(String(describing: s?.status)), tshark \(status)")
                }
                if let g = heads.grpcStatus {
                    #expect(s?.grpcStatus == g, "grpc-status of stream \(id) on \(pair) in \(file): analyze \(String(describing: s?.grpcStatus)), tshark \(g)")
                }
            }
        }
    }
}

// MARK: - tshark's reading

/// What tshark says of one capture, run at test time.
enum TsharkReading {
    struct Conversation {
        var a: String, b: String
        var packets: [String: Int] = [:]
        var rstSenders: Set<String> = []
        var finSenders: Set<String> = []
        var pairKey: String { [a, b].sorted().joined(separator: " <-> ") }
    }

    struct HTTP2Connection {
        /// sender endpoint → frame type name → count
        var frames: [String: [String: Int]] = [:]
        var goaways: [String] = []
        /// "sender stream code" per RST_STREAM frame, in wire order.
        var resets: [String] = []
        var streamHeaders: [Int: (status: Int?, grpcStatus: String?)] = [:]
    }

    static let separator = "\u{1f}"

    /// Runs tshark with `arguments` after `-r path` and returns its rows of tab-separated fields.
    static func rows(_ path: String, _ arguments: [String]) throws -> [[String]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        p.arguments = ["-r", path, "-n"] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") else {
            throw OracleError("tshark is not installed (make deps installs it): the oracle of these tests")
        }
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        _ = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw OracleError("tshark exited \(p.terminationStatus) on \(path)") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    static func endpoint(_ address: String, _ port: String) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// The TCP conversations, as tshark's `tcp.stream` numbers them (innermost headers of
    /// tunnelled packets; ICMP errors quoting a TCP header and sFlow samples of headers are not
    /// packets of the connection).
    static func tcp(_ path: String) throws -> [Conversation] {
        if let cached = tcpCache.value(path) { return cached }
        let conversations = try readTCP(path)
        tcpCache.store(conversations, for: path)
        return conversations
    }

    /// One tshark run per file for the suites that compare TCP.
    private static let tcpCache = OracleCache<[Conversation]>()

    private static func readTCP(_ path: String) throws -> [Conversation] {
        let rows = try rows(path, ["-Y", "tcp && !icmp && !icmpv6 && !sflow", "-T", "fields", "-E", "occurrence=l",
                                   "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                                   "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tcp.flags.reset", "-e", "tcp.flags.fin"])
        var byStream: [Int: Conversation] = [:]
        var order: [Int] = []
        for r in rows where r.count >= 9 {
            guard let id = Int(r[0]) else { continue }
            let src = endpoint(r[2].isEmpty ? r[1] : r[2], r[3]), dst = endpoint(r[5].isEmpty ? r[4] : r[5], r[6])
            if byStream[id] == nil { byStream[id] = Conversation(a: src, b: dst); order.append(id) }
            byStream[id]!.packets[src, default: 0] += 1
            if r[7] == "1" || r[7] == "True" { byStream[id]!.rstSenders.insert(src) }
            if r[8] == "1" || r[8] == "True" { byStream[id]!.finSenders.insert(src) }
        }
        return order.map { byStream[$0]! }
    }

    /// RFC 9113 §6 frame type names.
    static func frameTypeName(_ t: Int) -> String {
        let names = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]
        return t < names.count ? names[t] : "UNKNOWN"
    }

    /// RFC 9113 §7 error code names.
    static func errorName(_ code: Int) -> String {
        let names = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED",
                     "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
                     "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
        return code < names.count ? names[code] : "0x\(String(code, radix: 16))"
    }

    /// The HTTP/2 frames tshark decodes, per connection (pair key).
    static func http2(_ path: String, ports: [UInt16]) throws -> [String: HTTP2Connection] {
        var args: [String] = []
        for p in ports { args += ["-d", "tcp.port==\(p),http2"] }
        args += ["-Y", "http2", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\(separator)",
                 "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
                 "-e", "http2.type", "-e", "http2.streamid", "-e", "http2.goaway.error", "-e", "http2.rst_stream.error",
                 "-e", "http2.header.count", "-e", "http2.header.name", "-e", "http2.header.value"]
        var out: [String: HTTP2Connection] = [:]
        for r in try rows(path, args) where r.count >= 13 {
            func last(_ s: String) -> String { s.components(separatedBy: separator).last ?? s }
            func list(_ s: String) -> [String] { s.isEmpty ? [] : s.components(separatedBy: separator) }
            let src = endpoint(last(r[1].isEmpty ? r[0] : r[1]), last(r[2]))
            let dst = endpoint(last(r[4].isEmpty ? r[3] : r[4]), last(r[5]))
            let key = [src, dst].sorted().joined(separator: " <-> ")
            var conn = out[key] ?? HTTP2Connection()
            let types = list(r[6]).compactMap { Int($0) }, ids = list(r[7]).compactMap { Int($0) }
            for t in types { conn.frames[src, default: [:]][frameTypeName(t), default: 0] += 1 }
            for code in list(r[8]).compactMap({ Int($0) }) { conn.goaways.append("\(src) \(errorName(code))") }
            let resetStreams = zip(types, ids).filter { $0.0 == 3 }.map(\.1)
            for (id, code) in zip(resetStreams, list(r[9]).compactMap({ Int($0) })) { conn.resets.append("\(src) \(id) \(errorName(code))") }
            // Headers: each HEADERS/PUSH_PROMISE block contributes `header.count` names, in frame order.
            let counts = list(r[10]).compactMap { Int($0) }, names = list(r[11]), values = list(r[12])
            let blockStreams = zip(types, ids).filter { $0.0 == 1 }.map(\.1)
            if counts.reduce(0, +) == names.count, names.count == values.count, counts.count == blockStreams.count {
                var i = 0
                for (n, id) in zip(counts, blockStreams) {
                    for j in i..<(i + n) {
                        if names[j] == ":status" { conn.streamHeaders[id, default: (nil, nil)].status = Int(values[j]) }
                        if names[j] == "grpc-status" { conn.streamHeaders[id, default: (nil, nil)].grpcStatus = grpcName(values[j]) }
                    }
                    i += n
                }
            }
            out[key] = conn
        }
        return out
    }

    /// gRPC status names (grpc/doc/statuscodes.md) as analyze's JSON spells them.
    static func grpcName(_ v: String) -> String {
        let names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                     "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
        guard let n = Int(v), n >= 0, n < names.count else { return v }
        return names[n]
    }
}

final class OracleCache<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Value] = [:]
    func value(_ key: String) -> Value? { lock.lock(); defer { lock.unlock() }; return values[key] }
    func store(_ v: Value, for key: String) { lock.lock(); values[key] = v; lock.unlock() }
}

struct OracleError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

// MARK: - analyze's reading, from its JSON contract

/// The parts of `analyze --format json` the oracle comparison reads.
struct AnalyzeJSON {
    struct Connection {
        var client: String, server: String
        var packets: [String: Int]
        var rstSenders: Set<String>
        var frames: [String: [String: Int]]
        var goaways: [String]
        /// RST_STREAM frames from the timeline; nil when events were omitted (budget).
        var resets: [String]?
        var streams: [Int: (status: Int?, grpcStatus: String?)]
        var status: String, mechanism: String
        var pairKey: String { [client, server].sorted().joined(separator: " <-> ") }
        func firstPacketsMatch(_ c: TsharkReading.Conversation) -> Bool { packets == c.packets }
    }

    var connections: [Connection] = []

    init(path: String, http2Ports: [UInt16]) throws {
        var o = AnalyzeOptions(files: [path])
        o.http2Ports = http2Ports
        let result = try AnalyzeEngine(options: o).run()
        let text = result.report(settings: []).json().serialized(pretty: false)
        let doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        for c in doc["connections"] as? [[String: Any]] ?? [] {
            let client = c["client"] as! String, server = c["server"] as! String
            let tcp = c["tcp"] as? [String: Any] ?? [:]
            var packets: [String: Int] = [:], rst: Set<String> = []
            for (side, ep) in [("client", client), ("server", server)] {
                let s = tcp[side] as? [String: Any] ?? [:]
                if let n = s["packets"] as? Int, n > 0 { packets[ep] = n }
                if let r = s["rst_at"], !(r is NSNull) { rst.insert(ep) }
            }
            var frames: [String: [String: Int]] = [:], goaways: [String] = []
            if let h2 = c["http2"] as? [String: Any] {
                for (side, ep) in [("client", client), ("server", server)] {
                    if let f = (h2["frames"] as? [String: Any])?[side] as? [String: Int], !f.isEmpty { frames[ep] = f.filter { $0.value > 0 } }
                }
                for g in h2["goaways"] as? [[String: Any]] ?? [] {
                    let from = (g["from"] as? String) == "client" ? client : server
                    goaways.append("\(from) \(g["error_code"] as? String ?? "?")")
                }
            }
            var streams: [Int: (status: Int?, grpcStatus: String?)] = [:]
            for s in c["streams"] as? [[String: Any]] ?? [] {
                guard let id = s["stream_id"] as? Int else { continue }
                streams[id] = (s["http_status"] as? Int, s["grpc_status"] as? String)
            }
            var resets: [String]? = []
            if (c["omitted_events"] as? Int ?? 0) > 0 { resets = nil }
            for e in c["events"] as? [[String: Any]] ?? [] where e["kind"] as? String == "rst-stream" {
                let from = (e["direction"] as? String) == "out" ? client : server
                resets?.append("\(from) \(e["stream_id"] as? Int ?? -1) \(e["error_code"] as? String ?? "?")")
            }
            let outcome = c["outcome"] as? [String: Any] ?? [:]
            connections.append(Connection(client: client, server: server, packets: packets, rstSenders: rst,
                                          frames: frames, goaways: goaways, resets: resets, streams: streams,
                                          status: outcome["status"] as? String ?? "?", mechanism: outcome["mechanism"] as? String ?? "?"))
        }
    }
}
