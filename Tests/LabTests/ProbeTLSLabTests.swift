import Testing
import Foundation
import Glibc
import ConnDiagCore
import ConnDiagHTTP2Engine
import ConnDiagLab
import ConnDiagTCP

/// probe --tls against nghttpd with certificates made at test time (a CA, a good leaf for the
/// lab address, an expired leaf and one for the wrong host).
@Suite(.enabled(if: LabGate.enabled, "needs root for network namespaces"))
struct ProbeTLSLabTests {
    static let makeCerts = #"""
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
out, ip = sys.argv[1], sys.argv[2]
now = datetime.datetime.now(datetime.timezone.utc)
def name(cn): return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder().subject_name(name("conndiag test CA")).issuer_name(name("conndiag test CA"))
      .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
      .not_valid_after(now + datetime.timedelta(days=365)).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .sign(ca_key, hashes.SHA256()))
open(out + "/ca.pem", "wb").write(ca.public_bytes(serialization.Encoding.PEM))
def leaf(fname, sans, before, after):
    k = ec.generate_private_key(ec.SECP256R1())
    c = (x509.CertificateBuilder().subject_name(name("lab")).issuer_name(ca.subject).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now + before).not_valid_after(now + after)
         .add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(ca_key, hashes.SHA256()))
    open(out + "/" + fname + ".pem", "wb").write(c.public_bytes(serialization.Encoding.PEM))
    open(out + "/" + fname + ".key", "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
d = datetime.timedelta
leaf("good", [x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName("lab.test")], -d(days=1), d(days=45))
leaf("expired", [x509.IPAddress(ipaddress.ip_address(ip))], -d(days=30), -d(days=2))
leaf("wronghost", [x509.DNSName("other.example")], -d(days=1), d(days=45))
"""#

    @Test func tlsH2CertificateChecks() throws {
        let lab = try Lab(prefix: "cdtest")
        defer { lab.destroy() }
        let dir = try lab.makeContentDirectory(files: ["index.html": 100])
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gen.arguments = ["python3", "-c", Self.makeCerts, dir, lab.serverIPv4.description]
        try gen.run(); gen.waitUntilExit()
        try #require(gen.terminationStatus == 0, "certificate generation failed")
        for (port, leaf) in [(UInt16(8443), "good"), (8444, "expired"), (8445, "wronghost")] {
            try lab.startPeer(["nghttpd", "-d", dir, String(port), "\(dir)/\(leaf).key", "\(dir)/\(leaf).pem"], readyPort: port)
        }
        func probe(_ port: Int, expect: [ProbeExpectation] = []) throws -> ProbeResult {
            var c = ProbeConfig(targets: [TargetSpec(host: lab.serverIPv4.description, port: UInt16(port))])
            c.namespace = lab.clientNamespace
            c.tlsFactory = TLSProbeSession.factory(sni: nil, caFile: "\(dir)/ca.pem", insecure: false)
            c.pings = 2
            c.expectations = expect
            let e = ProbeEngine(config: c)
            _ = try e.run()
            return e.results[0]
        }
        let good = try probe(8443, expect: [.alpn("h2"), .tlsDaysAtLeast(30), .ok])
        #expect(good.healthy, "\(good.outcome.summary)")
        #expect(good.alpn == "h2")
        #expect(good.h2SettingsMs != nil)
        #expect(good.pingRTTs.count == 2)
        let days = try #require(good.tlsDaysLeft)
        #expect(days > 44 && days < 46)
        let tooSoon = try probe(8443, expect: [.tlsDaysAtLeast(60)])
        #expect(!tooSoon.healthy)
        let expired = try probe(8444)
        #expect(expired.outcome.status == .error)
        #expect(expired.outcome.summary.contains("expired"), "\(expired.outcome.summary)")
        let wrong = try probe(8445)
        #expect(wrong.outcome.summary.contains("hostname mismatch") || wrong.outcome.summary.contains("IP address mismatch"), "\(wrong.outcome.summary)")
    }
}
