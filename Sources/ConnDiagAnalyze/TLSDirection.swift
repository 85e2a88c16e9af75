import ConnDiagTLS

/// One direction of a connection's TLS: its record reader and handshake-message reader,
/// and what it sent (ChangeCipherSpec, records, the last record before its close).
final class TLSDirection: TLSRecordSink {
    /// The observer owns this direction and outlives it.
    unowned(unsafe) let observer: TLSObserver
    let side: Int
    let records = TLSRecordReader()
    let handshake = TLSHandshakeReader()
    /// The capture time of the segment being fed.
    var t = 0.0
    var changeCipherSpecAt: Double?
    /// Records of type application_data (all of TLS 1.3's encrypted traffic), and their bytes.
    var applicationRecords = 0
    var applicationBytes = 0
    var firstApplicationAt: Double?
    /// The first application_data records (length, time): in TLS 1.3 these are the
    /// encrypted handshake, so their sizes tell a Finished from an alert.
    var firstApplicationRecords: [(length: Int, t: Double)] = []
    /// The last record read: its type, payload length and time.
    var last: (type: TLSContentType, length: Int, t: Double)?
    /// Handshake records after ChangeCipherSpec (the encrypted Finished of TLS 1.2).
    var encryptedHandshakeRecords = 0

    init(observer: TLSObserver, side: Int) {
        self.observer = observer
        self.side = side
    }

    func feed(_ p: UnsafeRawBufferPointer, at t: Double) {
        self.t = t
        records.feed(p, to: self)
    }

    /// TLS 1.2 (and older): this side's records after its ChangeCipherSpec are encrypted.
    /// TLS 1.3 encrypts under the application_data type instead; its CCS is only for middleboxes.
    var encryptsHandshakeAndAlerts: Bool { changeCipherSpecAt != nil && !observer.facts.isTLS13 }

    // MARK: TLSRecordSink

    func wantsPayload(of type: TLSContentType) -> Bool {
        type == .handshake || type == .alert || type == .changeCipherSpec
            || (type == .applicationData && observer.decryption?.wants(side: side) == true)
    }

    func record(_ header: TLSRecordHeader, payload: UnsafeRawBufferPointer) {
        last = (header.type, header.length, t)
        switch header.type {
        case .handshake:
            if encryptsHandshakeAndAlerts {
                encryptedHandshakeRecords += 1
                observer.decryption?.protectedRecord(header, payload: payload, side: side, at: t)
                return
            }
            guard handshake.stopReason == nil else { return }
            handshake.append(payload) { type, body in observer.handshakeMessage(type, body, side: side, at: t) }
            if let why = handshake.stopReason { observer.handshakeUnreadable(side: side, reason: why, at: t) }
        case .alert:
            if encryptsHandshakeAndAlerts {
                // Decrypted, the alert is reported exactly from inside.
                if observer.decryption?.protectedRecord(header, payload: payload, side: side, at: t) != true {
                    observer.alert(nil, length: header.length, side: side, at: t)
                }
            } else if let alert = TLSAlert(payload) {
                observer.alert(alert, length: header.length, side: side, at: t)
            } else {
                observer.problem("an alert record of \(header.length) bytes from the \(TLSObserver.name(side)) in clear (an alert is 2 bytes)", side: side, at: t)
            }
        case .changeCipherSpec:
            if changeCipherSpecAt == nil {
                changeCipherSpecAt = t
                observer.changeCipherSpec(side: side, at: t)
            }
        case .applicationData:
            applicationRecords += 1
            applicationBytes += header.length
            if firstApplicationRecords.count < 8 { firstApplicationRecords.append((header.length, t)) }
            if firstApplicationAt == nil {
                firstApplicationAt = t
                observer.firstApplicationData(side: side, length: header.length, at: t)
            }
            observer.decryption?.protectedRecord(header, payload: payload, side: side, at: t)
        default:
            break
        }
    }

    func sslv2ClientHello(version: TLSProtocolVersion, length: Int) {
        observer.sslv2ClientHello(version: version, side: side, at: t)
    }

    func stopped(reason: String) {
        observer.directionStopped(side: side, reason: reason, at: t)
    }
}
