import Glibc
import ConnDiagCore
import ConnDiagPlatform
import ConnDiagTLS

/// `keepalive-test --traffic h2 --tls`: the handshake before the session starts. The
/// engine's loop starts only after `start`, so this waits with poll(2) itself (10 s at most,
/// before any fault is injected); a failure ends the run through `start`'s error.
extension H2PingKeepalive {
    struct TLSStartFailure: Error, CustomStringConvertible {
        var description: String
    }

    func handshake(fd: Int32, options: TLSOptions) throws -> TLSTransport {
        let clock = timelineClock
        let begin = clock.now()
        var o = options
        o.alpn = ["h2"]
        record(TLSHandshakeEvent.start(o, at: begin))
        let client = try TLSClient(fd: fd, options: o)
        let deadline = begin + 10
        while true {
            let events: Int16
            switch client.handshake() {
            case .done(let s):
                record(TLSHandshakeEvent.done(s, began: begin, at: clock.now()))
                if let problem = TLSHandshakeEvent.alpnProblem(s) { client.shutdown(); throw TLSStartFailure(description: problem) }
                return TLSTransport(client: client)
            case .failed(let f):
                record(TLSHandshakeEvent.failed(f, at: clock.now()))
                throw TLSStartFailure(description: "TLS (\(TLSHandshakeEvent.mechanism(f).rawValue)): \(f.reason)")
            case .wantRead: events = Int16(POLLIN)
            case .wantWrite: events = Int16(POLLOUT)
            }
            let left = deadline - clock.now()
            guard left > 0 else { throw TLSStartFailure(description: "the TLS handshake did not finish within 10s") }
            var fds = [pollfd(fd: fd, events: events, revents: 0)]
            if case .error(let e) = Syscall.poll(&fds, timeoutMs: Int32(left * 1000) + 1) { throw e }
        }
    }
}
