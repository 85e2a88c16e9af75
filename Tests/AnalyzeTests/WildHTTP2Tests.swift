import ConnDiagAnalyze
import ConnDiagCore
import Foundation
import Testing

/// HTTP/2 in captures other projects recorded (Fixtures/wild, SOURCES.md). Every expectation
/// comes from tshark on the same file (`tshark -r F -d tcp.port==P,http2 -Y http2 -T fields
/// -e tcp.srcport -e http2.type -e http2.streamid -e http2.rst_stream.error
/// -e http2.goaway.error -e http2.headers.status`, tshark 4.0) and from RFC 9113 / 7541, never
/// from what analyze printed before.
@Suite struct WildHTTP2Tests {
    static func analyze(_ file: String, http2Port: UInt16? = nil) throws -> AnalyzeResult {
        try Fixture.analyze(path: Fixture.wild(file)) { o in
            if let http2Port { o.http2Ports = [http2Port] }
        }
    }

    /// The connection whose client port is `port`.
    static func connection(_ r: AnalyzeResult, clientPort port: UInt16) throws -> ConnectionReport {
        try #require(r.connections.first { $0.client.port == port })
    }

    /// `http2.frames.client/server` of a connection, as [type name: count].
    static func frames(_ c: ConnectionReport) -> (client: [String: Int64], server: [String: Int64]) {
        let h2 = c.details.first { $0.0 == "http2" }?.1
        func side(_ name: String) -> [String: Int64] {
            guard case .object(let fields)? = h2?["frames"]?[name] else { return [:] }
            return Dictionary(uniqueKeysWithValues: fields.compactMap { k, v in v.int.map { (k, $0) } })
        }
        return (side("client"), side("server"))
    }

    static func streams(_ c: ConnectionReport) -> [(id: Int64, end: String, status: Int64?, grpc: String?)] {
        c.streams.map { s in (s["stream_id"]?.int ?? -1, s["end"]?.string ?? "", s["http_status"]?.int, s["grpc_status"]?.string) }
    }

    // MARK: - HPACK

    /// The server raises its dynamic table to 12288 (a size update in its first HEADERS),
    /// within the 65536 the client advertised: legal (RFC 7541 §4.2, §6.3). tshark decodes
    /// :status 200 on streams 1, 3, 5, 7.
    @Test func tableSizeUpdateWithinTheAdvertisedSize() throws {
        let c = try Self.connection(Self.analyze("sv-http2-bugfixes.pcap"), clientPort: 56238)
        #expect(c.protocolName == "http2")
        let s = Self.streams(c)
        #expect(s.map(\.id) == [1, 3, 5, 7])
        #expect(s.allSatisfy { $0.end == "completed" && $0.status == 200 })
        #expect(!c.findings.contains { $0.kind == "hpack-error" })
        #expect(c.streams.allSatisfy { $0["headers_undecodable"] == nil || $0["headers_undecodable"] == .null })
        let f = Self.frames(c)
        #expect(f.client == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "HEADERS": 4, "DATA": 1, "PING": 3])
        #expect(f.server == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "HEADERS": 4, "DATA": 7, "PING": 3])
    }

    // MARK: - GOAWAY with an error code

    /// The client sends GOAWAY INTERNAL_ERROR, then the server GOAWAY NO_ERROR: the error
    /// decides. The same h2c traffic goes direct (port 6233) and through an HTTP CONNECT
    /// proxy (8888), which tshark follows into the tunnel.
    @Test(arguments: [UInt16(63578), 63577])
    func clientGoawayErrorDecidesOverALaterGracefulOne(clientPort: UInt16) throws {
        let c = try Self.connection(Self.analyze("sv-http2-errorcode.pcap"), clientPort: clientPort)
        #expect(c.protocolName == "grpc")
        #expect(c.outcome.status == .closed)
        #expect(c.outcome.mechanism == .goaway)
        #expect(c.outcome.summary.contains("INTERNAL_ERROR"))
        #expect(c.outcome.summary.contains("client"))
        let finding = try #require(c.findings.first { $0.kind == "goaway-error" })
        #expect(finding.summary.contains("INTERNAL_ERROR from the client"))
        let s = Self.streams(c)
        #expect(s.count == 1)
        #expect(s.first?.end == "completed")
        #expect(s.first?.status == 200)
        #expect(s.first?.grpc == "OK")
        let f = Self.frames(c)
        #expect(f.client == ["SETTINGS": 1, "HEADERS": 1, "DATA": 2, "GOAWAY": 1])
        #expect(f.server == ["SETTINGS": 2, "HEADERS": 2, "DATA": 1, "GOAWAY": 1])
    }

    // MARK: - Frame size

    /// A 70000-byte DATA frame from the server: the client never raised SETTINGS_MAX_FRAME_SIZE
    /// (16384), so FRAME_SIZE_ERROR territory (RFC 9113 §4.2); decoding goes on.
    @Test func frameLargerThanTheReceiversMaximum() throws {
        let c = try Self.connection(Self.analyze("sv-http2-long-frame.pcap"), clientPort: 54321)
        let v = try #require(c.findings.first { $0.kind == "h2-protocol-violation" })
        #expect(v.summary.contains("70000"))
        #expect(v.summary.contains("server"))
        let s = Self.streams(c)
        #expect(s.first { $0.id == 1 }?.end == "completed")
        #expect(s.first { $0.id == 1 }?.status == 200)
        let f = Self.frames(c)
        #expect(f.client == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "HEADERS": 2])
        #expect(f.server == ["SETTINGS": 2, "HEADERS": 1, "DATA": 1])
    }

    // MARK: - h2c upgrade

    /// Three connections upgrade with `Upgrade: h2c` + 101, two stay HTTP/1.1 (206). Stream 1
    /// is the upgraded GET, answered 206 with END_STREAM then RST_STREAM(NO_ERROR) from the
    /// server: completed (RFC 9113 §8.1).
    @Test(arguments: [UInt16?.none, 8080])
    func upgradedConnectionsAreHTTP2AndTheOthersAreNot(http2Port: UInt16?) throws {
        let r = try Self.analyze("sv-http2-range.pcap", http2Port: http2Port)
        for port: UInt16 in [57226, 57228, 57230] {
            let c = try Self.connection(r, clientPort: port)
            #expect(c.protocolName == "http2", "port \(port)")
            let s = Self.streams(c)
            #expect(s.count == 1)
            #expect(s.first?.id == 1)
            #expect(s.first?.end == "completed")
            #expect(s.first?.status == 206)
            #expect(c.streams.first?["method"]?.string == "GET")
            #expect(c.streams.first?["path"]?.string == "/eicar")
            #expect(!c.findings.contains { $0.kind.hasPrefix("h2") || $0.kind == "hpack-error" })
            let f = Self.frames(c)
            #expect(f.client == ["SETTINGS": 2, "WINDOW_UPDATE": 1])
            #expect(f.server["HEADERS"] == 1 && f.server["DATA"] == 1 && f.server["RST_STREAM"] == 1 && f.server["WINDOW_UPDATE"] == 1)
        }
        #expect(try Self.frames(Self.connection(r, clientPort: 57228)).server["SETTINGS"] == 1)
        #expect(try Self.frames(Self.connection(r, clientPort: 57226)).server["SETTINGS"] == 2)
        for port: UInt16 in [57227, 57229] {
            let c = try Self.connection(r, clientPort: port)
            #expect(c.protocolName == "tcp", "port \(port)")
            #expect(!c.events.contains { $0.source == .h2 })
        }
    }

    /// The same capture begun mid-connection: after the first connection's handshake (its
    /// upgrade request is still there), or even after the request (only the 101 is seen, then
    /// the client's preface). Either way stream 1 is the upgraded request, answered 206, and
    /// the frames are those tshark reads from the whole capture.
    @Test(arguments: [3, 6])
    func upgradeFollowedMidConnection(dropping n: Int) throws {
        let r = try Fixture.analyze(path: Fixture.cutWild("sv-http2-range.pcap", droppingFirst: n))
        let c = try Self.connection(r, clientPort: 57226)
        #expect(c.midConnection)
        #expect(c.protocolName == "http2")
        #expect(Self.streams(c).map(\.id) == [1])
        #expect(Self.streams(c).first?.status == 206)
        #expect(Self.streams(c).first?.end == "completed")
        #expect(Self.frames(c).client == ["SETTINGS": 2, "WINDOW_UPDATE": 1])
        #expect(Self.frames(c).server == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "HEADERS": 1, "DATA": 1, "RST_STREAM": 1])
    }

    // MARK: - gRPC and others, frame by frame

    @Test func grpcCaptures() throws {
        let unary = try Self.connection(Self.analyze("grpc-unary.pcapng"), clientPort: 65094)
        #expect(Self.streams(unary).map(\.grpc) == ["OK"])
        #expect(Self.frames(unary).client == ["SETTINGS": 2, "HEADERS": 1, "DATA": 1, "PING": 2, "WINDOW_UPDATE": 1])
        #expect(Self.frames(unary).server == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "PING": 2, "HEADERS": 2, "DATA": 1])
        let streaming = try Self.connection(Self.analyze("grpc-server-streaming.pcapng"), clientPort: 50876)
        #expect(Self.streams(streaming).map(\.grpc) == ["OK"])
        #expect(Self.frames(streaming).server == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "PING": 2, "HEADERS": 2, "DATA": 10])
        let bidi = try Self.connection(Self.analyze("grpc-bidi.pcapng"), clientPort: 51164)
        #expect(Self.streams(bidi).map(\.grpc) == ["OK"])
        #expect(Self.frames(bidi).client == ["SETTINGS": 2, "HEADERS": 1, "DATA": 4, "PING": 7, "WINDOW_UPDATE": 3])
        #expect(Self.frames(bidi).server == ["SETTINGS": 2, "WINDOW_UPDATE": 3, "PING": 7, "HEADERS": 2, "DATA": 3])
    }

    @Test func dohAndKeywords() throws {
        let doh = try Self.connection(Self.analyze("sv-doh2-post.pcap"), clientPort: 52694)
        #expect(Self.streams(doh).count == 34)
        #expect(Self.streams(doh).allSatisfy { $0.end == "completed" && $0.status == 200 })
        #expect(Self.frames(doh).client == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "PRIORITY": 6, "HEADERS": 34, "DATA": 34, "GOAWAY": 1])
        #expect(Self.frames(doh).server == ["SETTINGS": 2, "WINDOW_UPDATE": 1, "HEADERS": 34, "DATA": 68])
        let kw = try Self.connection(Self.analyze("sv-http2-keywords.pcap"), clientPort: 56508)
        #expect(Self.streams(kw).count == 6)
        #expect(Self.streams(kw).allSatisfy { $0.end == "completed" })
        #expect(Self.frames(kw).client == ["SETTINGS": 3, "HEADERS": 6, "WINDOW_UPDATE": 21, "GOAWAY": 1])
        #expect(Self.frames(kw).server == ["SETTINGS": 3, "HEADERS": 6, "DATA": 114])
        #expect(!kw.findings.contains { $0.kind == "hpack-error" })
    }
}

extension Fixture {
    /// A wild classic-pcap capture without its first `n` packets.
    static func cutWild(_ file: String, droppingFirst n: Int) -> String {
        let bytes = Array(FileManager.default.contents(atPath: wild(file))!)
        let (header, recs) = records(bytes)
        return temporary(header + recs.dropFirst(n).flatMap { $0 })
    }
}
