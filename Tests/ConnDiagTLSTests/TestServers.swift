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

extension TestServer {
    /// A Python TLS server (ALPN `alpn`) that completes each handshake, waits `delay`
    /// seconds, then writes a TLS record its client cannot decrypt: the client finds a bad
    /// record MAC and ends TLS with a fatal alert.
    static func corruptingRecords(_ fixtures: CertificateFixtures, alpn: String?, delay: Double) -> TestServer? {
        guard let port = freeLoopbackPort() else { return nil }
        let script = fixtures.directory + "/corrupting_peer.py"
        writeFile(script, corruptingPeerScript)
        let argv = ["/usr/bin/python3", script, "\(port)", fixtures.pem("leaf"), fixtures.key("leaf"), alpn ?? "-", "\(delay)"]
        guard let pid = spawn(argv) else { return nil }
        // Ready once it accepts (the accepted test connection fails its handshake and is dropped).
        guard let fd = connectLoopback(port: port) else { stopProcess(pid); return nil }
        close(fd)
        return TestServer(pid: pid, port: port)
    }

    private static let corruptingPeerScript = """
    import os, socket, ssl, sys, time
    port, cert, key, alpn, delay = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.num_tickets = 0
    if alpn != "-":
        context.set_alpn_protocols([alpn])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    while True:
        connection, _ = listener.accept()
        try:
            tls = context.wrap_socket(connection, server_side=True)
        except Exception:
            connection.close()
            continue
        time.sleep(delay)
        # Application data that no key decrypts, written beside the TLS layer.
        raw = socket.socket(fileno=os.dup(tls.fileno()))
        raw.sendall(b"\\x17\\x03\\x03\\x00\\x40" + os.urandom(64))
        time.sleep(3)
        raw.close()
        tls.close()
    """
}
