import FuzzMain
import ConnDiagTLS

// Input: [options][key-log length (2 bytes)][key log ...][one direction's TLS bytes ...].
// The key log goes to `TLSKeyLog` (NSS format: labels, hex, CRLF, cut lines). The rest is
// read by `TLSRecordReader` in chunks of (options >> 3) + 1 bytes, and every protected
// record is opened by a `TLSRecordDecrypter` whose suite is options % 6 (TLS 1.2 AES-128/256
// GCM, ChaCha20; TLS 1.3 the three) and whose keys come from the key log's first secret
// through the TLS 1.2 PRF or HKDF-Expand-Label (fixed keys when it has none). Tags fail on
// almost every input, which is the path wrong key logs take; the plaintext side (inner
// content type, padding, EncryptedExtensions) is reached by also parsing each record's
// payload as if it had been decrypted.
@_cdecl("FuzzKeyLog_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

let suites: [UInt16] = [0xc02f, 0xc030, 0xcca8, 0x1301, 0x1302, 0x1303]

final class Sink: TLSRecordSink {
    let decrypter: TLSRecordDecrypter?
    let handshake = TLSHandshakeReader()
    var plaintext: [UInt8] = []
    init(decrypter: TLSRecordDecrypter?) { self.decrypter = decrypter }

    func wantsPayload(of type: TLSContentType) -> Bool { true }

    func record(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer) {
        if let decrypter {
            switch decrypter.open(header, payload: payload, into: &plaintext) {
            case .opened:
                precondition(plaintext.count <= payload.count, "plaintext longer than its record")
                let p = plaintext
                p.withUnsafeBytes { handshake.append($0) { _, body in _ = try? TLSEncryptedExtensions(body) } }
            case .authenticationFailed, .malformed: break
            }
        }
        _ = try? TLSEncryptedExtensions(payload)
        if let a = TLSAlert(payload) { _ = a.name }
    }

    func sslv2ClientHello(version: TLSProtocolVersion, length: Int) {}
    func stopped(reason: String) {}
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let options = data[0]
    let logLength = min(Int(data[1]) << 8 | Int(data[2]), size - 3)
    let log = TLSKeyLog()
    log.read(UnsafeRawBufferPointer(start: data + 3, count: logLength), source: "fuzz")
    precondition(log.problems.count <= 10, "problems kept without bound")
    let suite = TLSAEADSuite(TLSCipherSuite(suites[Int(options) % 6]))!
    var secret = [UInt8](repeating: 7, count: suite.hash.length)
    var master = [UInt8](repeating: 9, count: 48)
    let random = [UInt8](repeating: 0x0a, count: 32)
    if let s = log.secrets(for: TLSClientRandom(random)) {
        if let m = s.masterSecret { master = m }
        if let t = s.clientApplicationTraffic0, t.count == suite.hash.length { secret = t }
    }
    let keys = suite.isTLS13
        ? TLS13KeySchedule.keys(suite: suite, secret: secret)
        : TLS12KeySchedule.keys(suite: suite, masterSecret: master, clientRandom: random, serverRandom: random)?.client
    let sink = Sink(decrypter: keys.flatMap { TLSRecordDecrypter(suite: suite, keys: $0) })
    let bytes = UnsafeRawBufferPointer(start: data + 3 + logLength, count: size - 3 - logLength)
    let chunk = Int(options >> 3) + 1
    let reader = TLSRecordReader()
    var offset = 0
    while offset < bytes.count && !reader.isStopped {
        let end = min(bytes.count, offset + chunk)
        reader.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), to: sink)
        offset = end
    }
    return 0
}
