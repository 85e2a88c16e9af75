#if canImport(Glibc)
import Glibc
#endif

/// Where the fixtures live, for the atexit clean-up (set once, before any test reads it).
private var fixtureDirectory: String?

/// Certificates made once per test run with Python's `cryptography` (EC P-256, fast):
/// a CA, and leaves signed by it for localhost (valid, expired, wrong host), plus a
/// self-signed localhost leaf. Files: NAME.pem, NAME.key in `directory`.
struct CertificateFixtures: Sendable {
    let directory: String
    /// notAfter of the good leaf, for the expiry assertions.
    static let leafLifetimeDays = 30
    static let leafSerialHex = "1234ABCD"

    func pem(_ name: String) -> String { "\(directory)/\(name).pem" }
    func key(_ name: String) -> String { "\(directory)/\(name).key" }
    var caFile: String { pem("ca") }

    /// nil when generation failed (the tests then fail on #require, never skip).
    static let shared: CertificateFixtures? = generate()

    private static func generate() -> CertificateFixtures? {
        let directory = makeTemporaryDirectory()
        fixtureDirectory = directory
        atexit { if let directory = fixtureDirectory { removeDirectory(directory) } }
        writeFile(directory + "/make_certs.py", script)
        let status = run(["/usr/bin/python3", directory + "/make_certs.py", directory], output: directory + "/make_certs.log")
        guard status == 0 else {
            print("certificate generation failed (\(status)): \(readFile(directory + "/make_certs.log") ?? "")")
            return nil
        }
        return CertificateFixtures(directory: directory)
    }

    private static let script = """
    import datetime, ipaddress, sys
    from cryptography import x509
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    out = sys.argv[1]
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "conndiag tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def save(stem, cert, key):
        with open(f"{out}/{stem}.pem", "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(f"{out}/{stem}.key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder()
          .subject_name(name("conndiag test CA")).issuer_name(name("conndiag test CA"))
          .public_key(ca_key.public_key()).serial_number(0xCA)
          .not_valid_before(now - day).not_valid_after(now + 3650 * day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    save("ca", ca, ca_key)

    def leaf(stem, cn, dns, ips, serial, not_before, not_after, self_signed=False):
        key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = (x509.CertificateBuilder()
                   .subject_name(name(cn)).issuer_name(name(cn) if self_signed else ca.subject)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        save(stem, builder.sign(key if self_signed else ca_key, hashes.SHA256()), key)

    leaf("leaf", "localhost", ["localhost"], ["127.0.0.1", "::1"], 0x1234ABCD, now - day, now + 30 * day)
    leaf("expired", "localhost", ["localhost"], ["127.0.0.1"], 2, now - 60 * day, now - 2 * day)
    leaf("wronghost", "other.example", ["other.example", "*.other.example"], [], 3, now - day, now + 30 * day)
    leaf("selfsigned", "localhost", ["localhost"], ["127.0.0.1"], 4, now - day, now + 30 * day, self_signed=True)
    """
}
