internal import CTLS
#if canImport(Glibc)
import Glibc
#endif
import ConnDiagPlatform

/// A TLS client over a connected, non-blocking TCP socket that the caller owns and polls.
///
/// ```
/// let tls = try TLSClient(fd: fd, options: TLSOptions(serverName: "api.example"))
/// loop: while true {
///     switch tls.handshake() {
///     case .done(let info): ...; break loop
///     case .wantRead: poll(fd, POLLIN)
///     case .wantWrite: poll(fd, POLLOUT)
///     case .failed(let failure): print(failure.reason); break loop
///     }
/// }
/// ```
/// Afterwards `read` and `write` move application data. Call `read` until it answers
/// `.wantRead` before polling again: OpenSSL may hold decrypted bytes the socket no longer
/// signals (`hasBufferedData`). The socket is never closed here; `shutdown()` sends
/// close_notify, and deinit frees the OpenSSL objects. Not thread-safe: one thread drives
/// one client.
public final class TLSClient {
    public let fd: Int32
    public let options: TLSOptions
    /// What the handshake negotiated, once it is done.
    public private(set) var session: TLSSessionInfo?
    /// The peer closed its side with close_notify (rather than a bare TCP FIN).
    public private(set) var receivedCloseNotify = false

    private enum State {
        case handshaking
        case established
        case failed(TLSFailure)
    }

    private enum Phase { case handshake, read, write }

    private var state = State.handshaking
    private var ioFailure: String?
    /// Why application data stopped, typed: a socket errno, a fatal alert (either way), or
    /// another TLS failure. Set with the first `.error` of `read` or `write`.
    public private(set) var transportError: TransportError?
    private var sawEOF = false
    private var shutdownSent = false
    private let context: OpaquePointer      // SSL_CTX *
    private let ssl: OpaquePointer          // SSL *
    private let bioMethod: OpaquePointer    // BIO_METHOD *, outlives the SSL's BIO
    private let keyLogPath: UnsafeMutablePointer<CChar>?   // read by the keylog callback

    /// Prepares a client for `fd` (a connected, non-blocking TCP socket, not closed here).
    /// Throws a `TLSFailure` for unusable options: an unreadable CA file, an ALPN name
    /// longer than 255 bytes, a key log file that cannot be opened.
    public init(fd: Int32, options: TLSOptions) throws {
        self.fd = fd
        self.options = options
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSFailure(reason: "cannot create a TLS context: \(Self.drainErrors().first?.text ?? "SSL_CTX_new failed")")
        }
        var keyLogPath: UnsafeMutablePointer<CChar>?
        var bioMethod: OpaquePointer?
        var ssl: OpaquePointer?
        do {
            keyLogPath = try Self.configure(context: context, options: options)
            guard let method = CTLS_newSocketBIOMethod() else {
                throw TLSFailure(reason: "cannot create a socket BIO method: \(Self.drainErrors().first?.text ?? "out of memory")")
            }
            bioMethod = method
            guard let connection = SSL_new(context) else {
                throw TLSFailure(reason: "cannot create a TLS connection: \(Self.drainErrors().first?.text ?? "SSL_new failed")")
            }
            ssl = connection
            try Self.configure(ssl: connection, options: options)
            guard CTLS_attachSocket(connection, method, fd) == 1 else {
                throw TLSFailure(reason: "cannot attach the socket to TLS: out of memory")
            }
            CTLS_recordFatalAlerts(connection)
            SSL_set_connect_state(connection)
        } catch {
            if let ssl { SSL_free(ssl) }
            SSL_CTX_free(context)
            if let bioMethod { BIO_meth_free(bioMethod) }
            free(keyLogPath)
            ERR_clear_error()
            throw error
        }
        self.context = context
        self.ssl = ssl!
        self.bioMethod = bioMethod!
        self.keyLogPath = keyLogPath
    }

    deinit {
        SSL_free(ssl)            // frees the BIO and its socket state, never the fd
        SSL_CTX_free(context)
        BIO_meth_free(bioMethod)
        free(keyLogPath)
    }

    // MARK: - Handshake

    /// Advances the handshake. Call again after the fd becomes readable (`.wantRead`) or
    /// writable (`.wantWrite`); once done or failed, the same answer is repeated.
    public func handshake() -> TLSStep {
        switch state {
        case .established:
            if let session { return .done(session) }
        case .failed(let failure):
            return .failed(failure)
        case .handshaking:
            break
        }
        resetErrorState()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            let info = makeSessionInfo()
            session = info
            state = .established
            return .done(info)
        }
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        default:
            let failure = classify(sslError: code, phase: .handshake)
            state = .failed(failure)
            return .failed(failure)
        }
    }

    // MARK: - Application data

    /// Reads decrypted bytes into `buffer`. `.wantWrite` can happen (TLS may need to send
    /// while reading); `.eof` when the peer closed (see `receivedCloseNotify`).
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSIOResult {
        if let refusal = ioRefusal() { return refusal }
        if sawEOF { return .eof }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .bytes(0) }
        resetErrorState()
        var count = 0
        let rc = SSL_read_ex(ssl, base, buffer.count, &count)
        if rc == 1 { return .bytes(count) }
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            receivedCloseNotify = true
            sawEOF = true
            return .eof
        default:
            if isUnexpectedEOF(sslError: code) {
                ERR_clear_error()
                sawEOF = true
                return .eof
            }
            let failure = classify(sslError: code, phase: .read)
            ioFailure = failure.reason
            transportError = transportError(for: failure, operation: "recv")
            return .error(failure.reason)
        }
    }

    /// Encrypts and sends up to `bytes.count` bytes; `.bytes(n)` may be fewer. After
    /// `.wantWrite`/`.wantRead`, call again with the same bytes (they may move in memory).
    public func write(_ bytes: UnsafeRawBufferPointer) -> TLSIOResult {
        if let refusal = ioRefusal() { return refusal }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        resetErrorState()
        var count = 0
        let rc = SSL_write_ex(ssl, base, bytes.count, &count)
        if rc == 1 { return .bytes(count) }
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ:
            return .wantRead
        case SSL_ERROR_WANT_WRITE:
            return .wantWrite
        default:
            let failure = classify(sslError: code, phase: .write)
            ioFailure = failure.reason
            transportError = transportError(for: failure, operation: "send")
            return .error(failure.reason)
        }
    }

    /// Sends close_notify once, without waiting for the peer's; never blocks, never fails
    /// loudly. The socket stays open (the caller closes it).
    public func shutdown() {
        guard case .established = state, ioFailure == nil, !shutdownSent else { return }
        shutdownSent = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// OpenSSL holds decrypted or undecrypted bytes that the socket will not signal again.
    public var hasBufferedData: Bool { SSL_has_pending(ssl) == 1 }

    /// Raw bytes through the socket so far (TLS records, handshake included).
    public var socketBytesReceived: UInt64 { CTLS_socketState(ssl).map { $0.pointee.bytesIn } ?? 0 }
    public var socketBytesSent: UInt64 { CTLS_socketState(ssl).map { $0.pointee.bytesOut } ?? 0 }

    private func ioRefusal() -> TLSIOResult? {
        switch state {
        case .handshaking: return .error("the TLS handshake has not completed")
        case .failed(let failure): return .error(failure.reason)
        case .established: return ioFailure.map { .error($0) }
        }
    }

    private func resetErrorState() {
        ERR_clear_error()
        if let socket = CTLS_socketState(ssl) { socket.pointee.lastErrno = 0 }
    }

    // MARK: - Configuration

    /// Returns the strdup'd key log path the context now points at, if any.
    private static func configure(context: OpaquePointer, options: TLSOptions) throws -> UnsafeMutablePointer<CChar>? {
        CTLS_setNonBlockingModes(context)
        // Verification always runs (its result is reported either way); `insecure` only
        // keeps a failure from aborting the handshake.
        SSL_CTX_set_verify(context, options.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)

        if let caFile = options.caFile {
            if access(caFile, R_OK) != 0 {
                throw TLSFailure(reason: "cannot read CA file \(caFile): \(errnoText(errno))")
            }
            if SSL_CTX_load_verify_file(context, caFile) != 1 {
                throw TLSFailure(reason: "cannot load CA file \(caFile): \(drainErrors().first?.text ?? "no certificates in it")")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw TLSFailure(reason: "cannot load the default CA store: \(drainErrors().first?.text ?? "unknown error")")
        }

        if let cert = options.certificateFile, let key = options.privateKeyFile {
            for (what, path) in [("client certificate", cert), ("client key", key)] where access(path, R_OK) != 0 {
                throw TLSFailure(reason: "cannot read \(what) \(path): \(errnoText(errno))")
            }
            if SSL_CTX_use_certificate_chain_file(context, cert) != 1 {
                throw TLSFailure(reason: "cannot load client certificate \(cert): \(drainErrors().first?.text ?? "no certificate in it")")
            }
            if SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(context) != 1 {
                throw TLSFailure(reason: "cannot use client key \(key): \(drainErrors().first?.text ?? "it does not match the certificate")")
            }
        }

        if !options.alpn.isEmpty {
            var wire: [UInt8] = []
            for name in options.alpn {
                let bytes = Array(name.utf8)
                guard (1...255).contains(bytes.count) else {
                    throw TLSFailure(reason: "invalid ALPN protocol name \"\(name)\" (must be 1 to 255 bytes)")
                }
                wire.append(UInt8(bytes.count))
                wire += bytes
            }
            // Returns 0 on success, unlike the rest of OpenSSL.
            if SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) != 0 {
                throw TLSFailure(reason: "cannot set ALPN protocols: \(drainErrors().first?.text ?? "unknown error")")
            }
        }

        guard let keyLogFile = options.keyLogFile, !keyLogFile.isEmpty else { return nil }
        let probe: Int32
        switch Syscall.result("open(\(keyLogFile))", { open(keyLogFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }) {
        case .value(let fd): probe = fd
        case .error(let e): throw TLSFailure(reason: "cannot open key log file \(keyLogFile): \(errnoText(e.errno.rawValue))")
        case .wouldBlock, .interrupted: throw TLSFailure(reason: "cannot open key log file \(keyLogFile)")
        }
        close(probe)
        guard let path = strdup(keyLogFile) else { throw TLSFailure(reason: "out of memory") }
        CTLS_enableKeyLog(context, path)
        return path
    }

    private static func configure(ssl: OpaquePointer, options: TLSOptions) throws {
        guard var name = options.serverName, !name.isEmpty else { return }
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if isIPAddress(name) {
            // RFC 6066: no SNI for literal addresses; the certificate needs an IP SAN.
            if X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1 {
                throw TLSFailure(reason: "cannot verify against IP address \(name): \(drainErrors().first?.text ?? "invalid address")")
            }
            return
        }
        if name.hasSuffix(".") { name.removeLast() }   // "example.com." is "example.com" on the wire
        guard !name.isEmpty, CTLS_setServerNameIndication(ssl, name) == 1 else {
            throw TLSFailure(reason: "invalid TLS server name \"\(options.serverName ?? "")\": \(drainErrors().first?.text ?? "rejected")")
        }
        if SSL_set1_host(ssl, name) != 1 {
            throw TLSFailure(reason: "cannot verify against host name \(name): \(drainErrors().first?.text ?? "rejected")")
        }
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }

    // MARK: - Session info

    private func makeSessionInfo() -> TLSSessionInfo {
        let code = Int32(truncatingIfNeeded: SSL_get_verify_result(ssl))
        let leaf = peerCertificate()
        var alpnBytes: UnsafePointer<UInt8>?
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpnBytes, &alpnLength)
        let alpn = alpnBytes.flatMap { bytes -> String? in
            alpnLength == 0 ? nil : String(decoding: UnsafeBufferPointer(start: bytes, count: Int(alpnLength)), as: UTF8.self)
        }
        let verifyError: String?
        if code != X509_V_OK {
            verifyError = Self.verifyErrorText(code)
        } else if leaf == nil {
            verifyError = "the server sent no certificate"
        } else {
            verifyError = nil
        }
        return TLSSessionInfo(
            version: SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown",
            cipher: SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "unknown",
            alpn: alpn,
            peerCertificate: leaf,
            chainLength: Int(CTLS_peerChainLength(ssl)),
            verified: code == X509_V_OK && leaf != nil,
            verifyError: verifyError,
            verifyCode: code)
    }

    /// The server's own certificate, also after a failed verification.
    func peerCertificate() -> TLSCertificateInfo? {
        CTLS_peerChainCertificate(ssl, 0).map { TLSCertificateInfo(x509: $0) }
    }

    static func verifyErrorText(_ code: Int32) -> String {
        X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "X509 error \(code)"
    }

    // MARK: - Failures

    /// The typed form of an application-data failure. An alert wins over the errno: a peer
    /// that sends a fatal alert and then resets has ended TLS with the alert.
    private func transportError(for failure: TLSFailure, operation: String) -> TransportError {
        let socket = CTLS_socketState(ssl)?.pointee
        if let received = socket?.fatalAlertReceived, received > 0 {
            return .tlsAlert(.received, description: Self.alertName(received - 1))
        }
        if let sent = socket?.fatalAlertSent, sent > 0 {
            return .tlsAlert(.sent, description: Self.alertName(sent - 1))
        }
        if let e = failure.errno { return .socket(SyscallError(operation, errno: e)) }
        return .tls(failure.reason)
    }

    /// Whether a failed read is only the peer's TCP FIN without close_notify.
    private func isUnexpectedEOF(sslError code: Int32) -> Bool {
        let socket = CTLS_socketState(ssl)?.pointee
        if code == SSL_ERROR_SYSCALL && (socket?.lastErrno ?? 0) == 0 && ERR_peek_error() == 0 { return true }
        guard code == SSL_ERROR_SSL else { return false }
        let error = ERR_peek_error()
        return CTLS_errorLibrary(error) == ERR_LIB_SSL && CTLS_errorReason(error) == SSL_R_UNEXPECTED_EOF_WHILE_READING
    }

    private func classify(sslError code: Int32, phase: Phase) -> TLSFailure {
        let errors = Self.drainErrors()
        let socket = CTLS_socketState(ssl)?.pointee
        let lastErrno = socket?.lastErrno ?? 0
        let ssl = errors.filter { $0.library == ERR_LIB_SSL }
        let during = phase == .handshake ? " during the handshake" : ""
        let leaf = phase == .handshake ? peerCertificate() : nil
        let opensslSuffix = errors.first.map { " (OpenSSL: \($0.text))" } ?? ""

        // Whatever OpenSSL concluded, bytes that are not a TLS record say it best.
        if phase == .handshake, let socket, Self.describeNonTLS(head: Self.head(of: socket)) != nil {
            CTLS_peekHead(self.ssl)
            let what = CTLS_socketState(self.ssl).flatMap { Self.describeNonTLS(head: Self.head(of: $0.pointee)) } ?? "?"
            return TLSFailure(reason: "not a TLS server: \(what)\(opensslSuffix)")
        }
        if ssl.contains(where: { $0.reason == SSL_R_CERTIFICATE_VERIFY_FAILED }) {
            let verifyCode = Int32(truncatingIfNeeded: SSL_get_verify_result(self.ssl))
            var reason = "certificate verify failed: \(Self.verifyErrorText(verifyCode)) (X509 error \(verifyCode))"
            if let leaf, let detail = verifyDetail(code: verifyCode, leaf: leaf) { reason += "; \(detail)" }
            return TLSFailure(reason: reason, verifyCode: verifyCode, peerCertificate: leaf)
        }
        if let alertError = ssl.first(where: { $0.reason >= SSL_AD_REASON_OFFSET && $0.reason < SSL_AD_REASON_OFFSET + 256 }) {
            let alert = Self.alertName(alertError.reason - SSL_AD_REASON_OFFSET)
            return TLSFailure(reason: "server sent alert: \(alert)", alert: alert, peerCertificate: leaf)
        }
        if code == SSL_ERROR_ZERO_RETURN {
            return TLSFailure(reason: "peer sent close_notify\(during)", peerCertificate: leaf)
        }
        if lastErrno != 0 {
            return TLSFailure(reason: "\(errnoMessage(lastErrno, lowercased: true))\(during) (\(errnoName(lastErrno)))",
                              peerCertificate: leaf, errno: lastErrno)
        }
        let eof = (code == SSL_ERROR_SYSCALL && errors.isEmpty)
            || ssl.contains(where: { $0.reason == SSL_R_UNEXPECTED_EOF_WHILE_READING })
            || (socket?.peerClosed ?? 0) != 0
        if eof {
            var reason = "peer closed the connection\(during)"
            if phase == .handshake, let socket {
                reason += socket.bytesIn == 0
                    ? " without answering the ClientHello"
                    : " after sending \(socket.bytesIn) bytes"
            }
            return TLSFailure(reason: reason, peerCertificate: leaf)
        }
        if let first = errors.first {
            let what = phase == .handshake ? "TLS handshake failed" : "TLS error"
            return TLSFailure(reason: "\(what): \(first.text)", peerCertificate: leaf)
        }
        return TLSFailure(reason: "TLS \(phase == .handshake ? "handshake" : "I/O") failed (SSL_get_error \(code))",
                          peerCertificate: leaf)
    }

    /// What the leaf says about a verification error, when it says something useful.
    private func verifyDetail(code: Int32, leaf: TLSCertificateInfo) -> String? {
        let now = Int64(time(nil))
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED where leaf.isExpired(now: now):
            let days = Int(-leaf.daysUntilExpiry(now: now))
            let ago = days == 0 ? "less than a day ago" : days == 1 ? "1 day ago" : "\(days) days ago"
            return "notAfter \(utcText(leaf.notAfter)), \(ago)"
        case X509_V_ERR_CERT_NOT_YET_VALID where leaf.isNotYetValid(now: now):
            return "notBefore \(utcText(leaf.notBefore))"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            let names = leaf.sans.isEmpty ? leaf.subject : leaf.sans.joined(separator: ", ")
            return "asked for \(options.serverName ?? "?"), the certificate is for \(names)"
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return "subject \(leaf.subject), issuer \(leaf.issuer)"
        default:
            return nil
        }
    }

    private static func head(of socket: CTLS_SocketState) -> [UInt8] {
        var copy = socket.head
        let count = Int(max(0, min(socket.headLength, Int32(MemoryLayout.size(ofValue: copy)))))
        return withUnsafeBytes(of: &copy) { Array($0.prefix(count)) }
    }
}
