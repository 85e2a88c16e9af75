import ConnDiagAnalyze
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagPacket
import ConnDiagTCP
import Foundation
import Glibc
import Testing

/// The server's side of a recorded connection, replayed to a live client on loopback: its
/// TCP payload at the recorded offsets from the handshake, then its FIN if it sent one.
final class RecordedServer {
    struct Chunk { var at: Double; var bytes: [UInt8]; var afterClientData: Bool }
    let chunks: [Chunk]
    /// When the server's FIN came (nil: the capture ended with the connection open).
    let finAt: Double?
    /// How long the capture lasted after the handshake.
    let captureLength: Double
    private(set) var port: UInt16 = 0
    private var listener: Int32 = -1
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    init(pcap name: String) {
        let (_, records) = Fixture.records(Fixture.bytes(name))
        func le(_ r: [UInt8], _ at: Int) -> Int64 { Int64(r[at]) | Int64(r[at + 1]) << 8 | Int64(r[at + 2]) << 16 | Int64(r[at + 3]) << 24 }
        var serverPort: UInt16?
        var base: Double?
        var clientSentData = false
        var chunks: [Chunk] = []
        var fin: Double?
        var last = 0.0
        for r in records {
            let t = Double(le(r, 0)) + Double(le(r, 4)) / 1e9
            last = t
            let bytes = Array(r[16...])
            let packet = PacketDecoder.decode(bytes, linkType: .ethernet)
            guard case .tcp(let s) = packet.transport else { continue }
            if s.flags.contains(.syn) && !s.flags.contains(.ack) { serverPort = s.destinationPort; continue }
            if s.flags.contains(.syn) { base = t; continue }
            guard let base else { continue }
            let fromServer = s.sourcePort == serverPort
            if s.capturedPayloadLength > 0 {
                if fromServer {
                    let payload = Array(bytes[s.payloadOffset..<(s.payloadOffset + s.capturedPayloadLength)])
                    chunks.append(Chunk(at: t - base, bytes: payload, afterClientData: clientSentData))
                } else {
                    clientSentData = true
                }
            }
            if fromServer && s.flags.contains(.fin) && fin == nil { fin = t - base }
        }
        self.chunks = chunks
        finAt = fin
        captureLength = last - (base ?? last)
    }

    /// Listens on 127.0.0.1 and replays to the first client that connects.
    func start() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 1) == 0 else { throw ConnDiagError.badInput("replay server: cannot listen") }
        withUnsafeMutablePointer(to: &address) { p in
            _ = p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        let fd = listener
        let chunks = self.chunks, finAt = self.finAt, done = self.done
        thread = Thread {
            let c = accept(fd, nil, nil)
            defer { done.signal() }
            guard c >= 0 else { return }
            let start = monotonic()
            var clientBytes = 0
            func readAvailable() {
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = recv(c, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                    if n <= 0 { return }
                    clientBytes += n
                }
            }
            func wait(until t: Double) {
                while monotonic() - start < t {
                    readAvailable()
                    usleep(500)
                }
            }
            for chunk in chunks {
                wait(until: chunk.at)
                // What the server sent in answer to the client: not before the client's
                // preface and first frame arrived (24 + 9 bytes).
                while chunk.afterClientData && clientBytes < 33 && monotonic() - start < 5 { readAvailable(); usleep(500) }
                _ = chunk.bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            if let finAt {
                wait(until: finAt)
                readAvailable()
                shutdown(c, Int32(SHUT_WR))
            }
            // Keep reading until the client is gone, so closing never turns into a RST.
            let deadline = monotonic() + 10
            while monotonic() < deadline {
                var byte: UInt8 = 0
                if recv(c, &byte, 1, 0) <= 0 { break }
            }
            close(c)
        }
        thread?.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        _ = done.wait(timeout: .now() + 12)
    }
}

private func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The same recorded connection through both sources: analyze on the capture, and the live
/// goaway-trace client (nghttp2 session, the shadow frame decoder, its observer) talking to
/// the capture's server bytes replayed on loopback. Both must reach the same verdict and
/// the same client rows, from the same HTTP/2 diagnosers.
@Suite(.serialized) struct SameVerdictTests {
    func live(_ server: RecordedServer, kind: StreamKind) throws -> Report {
        try server.start()
        defer { server.stop() }
        var config = GoawayTraceConfig(target: TargetSpec(host: "127.0.0.1", port: server.port))
        config.captureEnabled = false
        config.kind = kind
        config.streams = 1
        config.duration = server.finAt == nil ? server.captureLength + 0.1 : server.captureLength + 2
        return try GoawayTraceEngine(config: config).run()
    }

    func clientRows(_ streams: JSONValue?) -> String? { streams?["clients"].map { $0.serialized() } }

    @Test(arguments: [("grpc-drain", StreamKind.grpcServerStream("/conndiag.Lab/Watch"), Mechanism.goawayGraceExpired),
                      ("proxy-reset", StreamKind.httpUpload(path: "/"), Mechanism.none)])
    func liveAndAnalyzeAgree(_ name: String, _ kind: StreamKind, _ mechanism: Mechanism) throws {
        let analyzed = try Fixture.analyze(name)
        let connection = try #require(analyzed.connections.first)
        #expect(connection.outcome.mechanism == mechanism)
        let report = try live(RecordedServer(pcap: name), kind: kind)
        #expect(report.outcome.status == connection.outcome.status, "\(name): \(report.outcome.summary)")
        #expect(report.outcome.mechanism == connection.outcome.mechanism, "\(name): \(report.outcome.summary)")
        guard case .array(let liveStreams)? = report.extras.first(where: { $0.0 == "streams" })?.1 else {
            Issue.record("\(name): no streams in the live report")
            return
        }
        let liveRows = clientRows(liveStreams.first)
        #expect(liveRows != nil)
        #expect(liveRows == clientRows(connection.streams.first), "\(name)")
        #expect(liveStreams.first?["end"] == connection.streams.first?["end"], "\(name)")
    }
}
