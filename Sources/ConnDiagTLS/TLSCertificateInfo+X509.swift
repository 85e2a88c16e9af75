internal import CTLS
#if canImport(Glibc)
import Glibc
#endif

extension TLSCertificateInfo {
    /// Reads an `X509 *` (borrowed; not freed here).
    init(x509 certificate: OpaquePointer) {
        var notBefore: Int64 = 0
        var notAfter: Int64 = 0
        var seconds: Int64 = 0
        if CTLS_notBefore(certificate, &seconds) == 1 { notBefore = seconds }
        if CTLS_notAfter(certificate, &seconds) == 1 { notAfter = seconds }
        let sans = takeCString(CTLS_copySubjectAltNames(certificate))
        let algorithm = X509_get_signature_nid(certificate)
        self.init(
            subject: takeCString(CTLS_copyName(X509_get_subject_name(certificate))),
            issuer: takeCString(CTLS_copyName(X509_get_issuer_name(certificate))),
            sans: sans.isEmpty ? [] : sans.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            notBefore: notBefore,
            notAfter: notAfter,
            serial: takeCString(CTLS_copySerialHex(certificate)),
            signatureAlgorithm: algorithm == NID_undef ? "unknown" : OBJ_nid2ln(algorithm).map { String(cString: $0) } ?? "unknown")
    }
}

/// A malloc'd C string as a Swift String (freed here); "" for NULL.
func takeCString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    defer { free(pointer) }
    return String(cString: pointer)
}

/// "2024-05-01 12:00:00 UTC" for Unix seconds (proleptic Gregorian, no TZ database).
func utcText(_ seconds: Int64) -> String {
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    // Civil from days (H. Hinnant).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) UTC"
}
