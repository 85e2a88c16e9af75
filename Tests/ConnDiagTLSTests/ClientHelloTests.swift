import Testing
@testable import ConnDiagTLS
#if canImport(Glibc)
import Glibc
#endif

/// What goes on the wire in the ClientHello: SNI for names only, the ALPN list.
@Suite struct ClientHelloTests {
    func clientHello(_ options: TLSOptions) throws -> [UInt8] {
        let listener = try #require(Listener())
        defer { listener.close() }
        let (client, server) = try #require(listener.connectedPair())
        defer { close(client); close(server) }
        let tls = try TLSClient(fd: client, options: options)
        guard case .wantRead = tls.handshake() else {
            Issue.record("expected want-read after the ClientHello")
            return []
        }
        let hello = receiveSome(server)
        #expect(hello.first == 0x16 && hello.count > 5)
        return hello
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
    }

    @Test func hostNameIsSentAsSNIWithoutTrailingDot() throws {
        let hello = try clientHello(TLSOptions(serverName: "api.example."))
        // server_name extension body: list length, type 0 (host_name), length 11, name.
        #expect(contains(hello, [0x00, 0x0e, 0x00, 0x00, 0x0b] + Array("api.example".utf8)))
        #expect(!contains(hello, Array("api.example.".utf8)))
    }

    @Test(arguments: ["127.0.0.1", "::1", "[::1]"])
    func ipAddressSendsNoSNI(_ address: String) throws {
        let hello = try clientHello(TLSOptions(serverName: address))
        #expect(!contains(hello, Array("127.0.0.1".utf8)) && !contains(hello, Array("::1".utf8)))
    }

    @Test func alpnListIsOffered() throws {
        let hello = try clientHello(TLSOptions(serverName: "localhost"))
        #expect(contains(hello, [0x00, 0x0c, 0x02] + Array("h2".utf8) + [0x08] + Array("http/1.1".utf8)))
        let bare = try clientHello(TLSOptions(serverName: "localhost", alpn: []))
        #expect(!contains(bare, Array("http/1.1".utf8)))
    }
}
