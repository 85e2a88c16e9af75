import FuzzMain
import ConnDiagTLS

// Input: [options][chunk size][bytes of one direction of a TLS connection...].
// options bit 0: sniff as the client (else the server); bit 1: the sink wants application
// data too (as a decrypter will); bit 2: parse certificates with OpenSSL. The bytes go to
// `TLSRecordReader` in chunks of (chunk size + 1); handshake records go through
// `TLSHandshakeReader` to the ClientHello/ServerHello/Certificate parsers.
@_cdecl("FuzzTLSRecords_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    conndiag_fuzz_main(argc, argv)
}

final class Sink: TLSRecordSink {
    let wantsApplicationData: Bool
    let certificates: Bool
    let handshake = TLSHandshakeReader()
    var stops = 0
    init(wantsApplicationData: Bool, certificates: Bool) { self.wantsApplicationData = wantsApplicationData; self.certificates = certificates }

    func wantsPayload(of type: TLSContentType) -> Bool { type != .applicationData || wantsApplicationData }

    func record(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer) {
        precondition(header.length <= TLSRecordHeader.maxLength, "record longer than the limit")
        precondition(payload.count == 0 || payload.count == header.length, "payload length differs from the header")
        switch header.type {
        case .handshake:
            handshake.append(payload) { type, body in
                switch type {
                case .clientHello: _ = (try? TLSClientHello(body))?.serverName
                case .serverHello: _ = (try? TLSServerHello(body))?.version.name
                case .certificate:
                    if let list = try? TLSCertificateList(tls12: body), certificates, let leaf = list.certificates.first {
                        _ = TLSCertificateInfo(der: leaf)?.subject
                    }
                default: break
                }
            }
        case .alert:
            if let a = TLSAlert(payload) { _ = a.name; _ = a.isFatal(tls13: true) }
        default: break
        }
    }

    func sslv2ClientHello(version: TLSProtocolVersion, length: Int) { _ = version.name }
    func stopped(reason: String) { stops += 1; precondition(stops == 1, "stopped twice") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let options = data[0]
    let chunk = Int(data[1]) + 1
    let bytes = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    _ = TLSSniffer.atStart(bytes, client: options & 1 != 0, peerIsTLS: false)
    _ = TLSSniffer.midConnection(bytes)
    let sink = Sink(wantsApplicationData: options & 2 != 0, certificates: options & 4 != 0)
    let reader = TLSRecordReader()
    var offset = 0
    while offset < bytes.count && !reader.isStopped {
        let end = min(bytes.count, offset + chunk)
        reader.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), to: sink)
        offset = end
    }
    precondition(reader.bytes <= bytes.count, "read more bytes than fed")
    _ = reader.bytesInPartialRecord
    return 0
}
