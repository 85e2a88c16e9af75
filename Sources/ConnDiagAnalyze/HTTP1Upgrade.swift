import ConnDiagCore
import ConnDiagDiagnosis
import ConnDiagHTTP2

/// The HTTP/1.1 exchange a connection begins with, followed until it says whether HTTP/2
/// comes next: a request with `Upgrade: h2c` answered by `101 Switching Protocols` (RFC 7540
/// §3.2: the request becomes stream 1, then both sides speak HTTP/2, the client starting with
/// the preface), or a CONNECT answered 2xx (a tunnel, whose bytes are then sniffed as a new
/// connection's). Any other answer, or any other request, is HTTP/1.1: the connection is not
/// HTTP/2. Both directions are read in order; anything out of order ends the following.
final class HTTP1Upgrade {
    enum State { case request, response, switched, declined }
    private(set) var state = State.request
    var following: Bool { state == .request || state == .response }
    /// The next byte expected from each side (nil: none seen yet from the server).
    private var next: Pair<UInt32?>
    /// Each side's head so far (until its CRLF CRLF).
    private var heads = Pair<[UInt8]>([], [])
    private(set) var request: HTTP1Head?
    /// Request body bytes still to come (Content-Length).
    private var bodyLeft = 0
    /// The client's bytes after its request, held until the server's answer decides what they are.
    private var held: [(seq: UInt32, bytes: [UInt8], t: Double)] = []
    private var heldBytes = 0
    static let holdLimit = 256 << 10

    init(requestAt seq: UInt32) { next = Pair(seq, nil) }

    /// A capture that begins after the request: only the server's answer is seen, and the
    /// client's bytes after it are sniffed as they come (its preface).
    init(responseAt seq: UInt32) {
        next = Pair(nil, seq)
        state = .response
        requestMissed = true
    }

    /// The request was not captured (see `init(responseAt:)`).
    private(set) var requestMissed = false

    /// What the caller does with a piece of bytes.
    enum Step {
        /// Consumed (part of the HTTP/1.1 exchange, or held).
        case consumed
        /// The upgrade happened: `stream1` is the request; HTTP/2 starts at the server's
        /// `serverSeq` (its bytes from `serverRest` on) and at the client's `clientSeq`
        /// (the held bytes first).
        case switched(tunnel: Bool, serverSeq: UInt32, clientSeq: UInt32?, held: [(seq: UInt32, bytes: [UInt8], t: Double)])
        /// Not an upgrade: plain HTTP/1.1 (or bytes this cannot follow).
        case declined
    }

    /// Reads `p` from `side` at `seq`; the returned step says what became of it, and `rest`
    /// how many bytes at its end belong to what follows the HTTP/1.1 exchange.
    func read(side: Int, seq: UInt32, _ p: UnsafeRawBufferPointer, at t: Double) -> (Step, rest: Int) {
        guard following else { return (.declined, 0) }
        var p = p
        if let n = next[side] {
            if seqLess(seq, n) {
                let skip = Int(n &- seq)
                guard skip < p.count else { return (.consumed, 0) }
                p = UnsafeRawBufferPointer(rebasing: p[skip...])
            } else if seq != n {
                state = .declined
                return (.declined, 0)
            }
        }
        let start = next[side] ?? seq
        next[side] = start &+ UInt32(p.count)
        if side == 0 {
            // After an answer seen without its request, the client's bytes are not followed.
            if requestMissed { state = .declined; return (.declined, 0) }
            return (readClient(p, from: start, at: t), 0)
        }
        return readServer(p, from: start)
    }

    private func readClient(_ p: UnsafeRawBufferPointer, from seq: UInt32, at t: Double) -> Step {
        var i = 0
        if request == nil {
            let before = heads.c.count
            heads.c.append(contentsOf: p)
            switch heads.c.withUnsafeBytes({ HTTP1Head.parse($0) }) {
            case .needMoreData: return .consumed
            case .notHTTP1: state = .declined; return .declined
            case .head(let head, let length):
                let upgrade = head.lists("upgrade", "h2c") && head.lists("connection", "upgrade")
                guard upgrade || head.method == "CONNECT", let body = head.contentLength else { state = .declined; return .declined }
                request = head
                bodyLeft = head.method == "CONNECT" ? 0 : body
                heads.c = []
                state = .response
                i = length - before
            }
        }
        let body = min(bodyLeft, p.count - i)
        bodyLeft -= body
        i += body
        if i < p.count {
            heldBytes += p.count - i
            guard heldBytes <= Self.holdLimit else { state = .declined; return .declined }
            held.append((seq &+ UInt32(i), Array(p[i...]), t))
        }
        return .consumed
    }

    private func readServer(_ p: UnsafeRawBufferPointer, from seq: UInt32) -> (Step, rest: Int) {
        guard state == .response, request != nil || requestMissed else { state = .declined; return (.declined, 0) }
        let before = heads.s.count
        heads.s.append(contentsOf: p)
        switch heads.s.withUnsafeBytes({ HTTP1Head.parse($0) }) {
        case .needMoreData: return (.consumed, 0)
        case .notHTTP1: state = .declined; return (.declined, 0)
        case .head(let head, let length):
            guard let status = head.statusCode else { state = .declined; return (.declined, 0) }
            let used = length - before
            if status >= 100 && status < 200 && status != 101 {
                // An interim answer (100 Continue): the final one follows.
                heads.s = []
                guard used < p.count else { return (.consumed, 0) }
                return readServer(UnsafeRawBufferPointer(rebasing: p[used...]), from: seq &+ UInt32(used))
            }
            let tunnel = request?.method == "CONNECT" && (200..<300).contains(status)
            let upgraded = status == 101 && head.lists("upgrade", "h2c") && request?.method != "CONNECT"
            guard tunnel || upgraded else { state = .declined; return (.declined, 0) }
            state = .switched
            let heldNow = held
            held = []
            let firstHeld = heldNow.first?.seq ?? next.c
            return (.switched(tunnel: tunnel, serverSeq: seq &+ UInt32(used), clientSeq: firstHeld, held: heldNow), p.count - used)
        }
    }
}

extension Connection {
    /// Bytes of a connection whose HTTP/1.1 beginning is followed (`HTTP1Upgrade`).
    func follow(_ h1: HTTP1Upgrade, side: Int, seq: UInt32, _ payload: UnsafeRawBufferPointer, cut: Int, at t: Double) {
        let (step, rest) = cut > 0 ? (HTTP1Upgrade.Step.declined, 0) : h1.read(side: side, seq: seq, payload, at: t)
        switch step {
        case .consumed:
            return
        case .declined:
            // HTTP/1.1 (or bytes that cannot be followed): not HTTP/2.
            h2Candidate = false
            streams[0].mode = .stopped
            streams[1].mode = .stopped
        case .switched(let tunnel, let serverSeq, let clientSeq, let held):
            if tunnel {
                // A tunnel: its bytes are sniffed as a new connection's.
                streams[0].tunnelStart = clientSeq ?? 0
                streams[1].tunnelStart = serverSeq
            } else {
                startUpgradedHTTP2(h1, serverSeq: serverSeq, clientSeq: clientSeq, at: t)
            }
            if rest > 0 {
                let tail = UnsafeRawBufferPointer(rebasing: payload[(payload.count - rest)...])
                accept(side: 1, seq: serverSeq, tail, cut: 0, at: t)
            }
            for item in held {
                item.bytes.withUnsafeBytes { accept(side: 0, seq: item.seq, $0, cut: 0, at: item.t) }
            }
        }
    }

    /// After `101 Switching Protocols`: both sides speak HTTP/2 from here, the request being
    /// stream 1, half-closed from the client (RFC 7540 §3.2).
    private func startUpgradedHTTP2(_ h1: HTTP1Upgrade, serverSeq: UInt32, clientSeq: UInt32?, at t: Double) {
        let session = h2 ?? H2Session(connection: self, fromStart: true, stallThreshold: stallThreshold)
        h2 = session
        session.fromStart = true
        if let value = h1.request?.field("http2-settings"), let settings = HTTP1Head.upgradeSettings(value) {
            session.applySettings(from: 0, settings)
        }
        session.startDirection(side: 1, fromConnectionStart: true, at: t, syncedMidStream: false)
        session.openUpgradedStream(method: h1.request?.method, path: h1.request?.target, at: t)
        streams[1].start(at: serverSeq)
        if let clientSeq {
            session.startDirection(side: 0, fromConnectionStart: true, at: t, syncedMidStream: false)
            streams[0].start(at: clientSeq)
        } else {
            // The request was not captured: the client's next bytes (its preface) are sniffed.
            h2Candidate = true
        }
        if wants(important: true) {
            record(Event(t: t, source: .h2, kind: "h2c-upgrade", direction: .in,
                         detail: "101 Switching Protocols: HTTP/1.1 upgraded to HTTP/2 (h2c); the request"
                             + (h1.request.map { " \($0.method ?? "") \($0.target ?? "")" } ?? " (not captured)") + " is stream 1"))
        }
    }
}
