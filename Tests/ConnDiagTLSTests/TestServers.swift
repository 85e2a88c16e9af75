#if canImport(Glibc)
import Glibc
#endif

/// A real TLS peer on 127.0.0.1, started by the test and killed by PID in `stop()`.
struct TestServer {
    let pid: pid_t
    let port: UInt16

    /// `openssl s_server -www` with `certificate` (a fixture name) and extra arguments.
    static func openSSL(_ fixtures: CertificateFixtures, certificate: String, extra: [String] = []) -> TestServer? {
        guard let port = freeLoopbackPort() else { return nil }
        let argv = ["/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:\(port)",
                    "-cert", fixtures.pem(certificate), "-key", fixtures.key(certificate), "-www", "-quiet"] + extra
        guard let pid = spawn(argv) else { return nil }
        return TestServer(pid: pid, port: port)
    }

    /// nghttpd (HTTP/2; TLS with h2 over ALPN, or cleartext with `tls: false`).
    static func nghttpd(_ fixtures: CertificateFixtures, certificate: String = "leaf", tls: Bool = true) -> TestServer? {
        guard let port = freeLoopbackPort() else { return nil }
        var argv = ["/usr/sbin/nghttpd", "-a", "127.0.0.1"]
        argv += tls ? ["\(port)", fixtures.key(certificate), fixtures.pem(certificate)] : ["--no-tls", "\(port)"]
        guard let pid = spawn(argv) else { return nil }
        return TestServer(pid: pid, port: port)
    }

    /// A connected non-blocking client socket (retried until the server listens).
    func connect() -> Int32? { connectLoopback(port: port) }

    func stop() { stopProcess(pid) }
}
