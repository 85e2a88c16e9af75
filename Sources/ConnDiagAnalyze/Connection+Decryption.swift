import ConnDiagCore
import ConnDiagTLS

/// How a connection's decryption with a key log is judged and reported.
extension Connection {
    /// A key log that does not open this connection's records is a warning (the wrong file,
    /// or a log from another run); one without its secrets, a notice.
    func decryptionFindings(_ dec: TLSDecryption, findings: inout [Finding]) {
        let wrongBoth = dec.sides.allSatisfy { $0.failed != nil && $0.failed!.afterRecords == 0 }
        if wrongBoth, let f = dec.sides.compactMap(\.failed).min(by: { $0.t < $1.t }) {
            findings.append(Finding(severity: .warning, kind: "tls-keylog-mismatch", connection: index, t: f.t,
                                    summary: "the key log's secrets for this connection do not decrypt its records (neither side's first record passes authentication): nothing inside is decoded (a key log from another session or run?)"))
        }
        for side in 0..<2 where !wrongBoth {
            guard let f = dec.sides[side].failed else { continue }
            let wrongKey = f.afterRecords == 0
            findings.append(Finding(severity: .warning, kind: wrongKey ? "tls-keylog-mismatch" : "tls-decryption-stopped", connection: index, t: f.t,
                                    summary: f.reason + (wrongKey ? ": nothing from this side is decoded (a key log from another session or run?)" : ": decoding of this side stops there")))
        }
        if let why = dec.unavailable, (tls?.directions[0]?.applicationRecords ?? 0) + (tls?.directions[1]?.applicationRecords ?? 0) > 0 {
            findings.append(Finding(severity: .notice, kind: "tls-no-keys", connection: index, t: nil, summary: "not decrypted: " + why))
        }
    }

    func decryptionJSON(_ dec: TLSDecryption) -> JSONValue {
        var b = JSONObjectBuilder()
        b.add("decrypted", dec.decryptedAnything)
        if let why = dec.unavailable { b.add("unavailable", why) }
        for side in 0..<2 {
            let s = dec.sides[side], who = Connection.name(side)
            b.add("records_decrypted_\(who)", s.opened)
            b.add("plaintext_bytes_\(who)", s.plaintextBytes)
            if let f = s.failed { b.add("failed_\(who)", f.reason) }
            if s.earlyDataSkipped > 0 { b.add("early_data_records_skipped_\(who)", s.earlyDataSkipped) }
        }
        return b.value
    }
}
