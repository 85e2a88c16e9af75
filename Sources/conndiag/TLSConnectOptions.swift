import ArgumentParser
import ConnDiagTLS

/// `--tls` for the HTTP/2 subcommands that speak h2c today (goaway-trace first): HTTP/2
/// over TLS with ALPN h2, verification and a key log for Wireshark and `analyze --keylog`.
struct TLSConnectOptions: ParsableArguments {
    @Flag(name: .long, help: "HTTP/2 over TLS (ALPN h2; the run fails clearly when the server selects anything else).")
    var tls = false

    @Option(name: .long, help: "TLS server name (SNI and verification); default: the target's host.")
    var sni: String?

    @Option(name: .long, help: "PEM file of trusted CA certificates (default: the system store).")
    var cacert: String?

    @Flag(name: .long, help: "Complete the TLS handshake even when verification fails (the failure is still reported).")
    var insecure = false

    @Option(name: .long, help: ArgumentHelp("Client certificate (PEM) for servers that require one; with --key.", valueName: "file"))
    var cert: String?

    @Option(name: .long, help: ArgumentHelp("Private key (PEM) of --cert.", valueName: "file"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("Append the TLS secrets to this NSS key log (default: $SSLKEYLOGFILE); with --write-pcap, Wireshark and `conndiag analyze --keylog` decrypt the pair.", valueName: "file"))
    var keylog: String?

    func validate() throws {
        if (sni != nil || cacert != nil || insecure || keylog != nil || cert != nil || key != nil) && !tls {
            throw ValidationError("--sni, --cacert, --insecure, --cert, --key and --keylog need --tls")
        }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
    }

    /// The client's options for a target named `host`, or nil without --tls.
    func options(host: String) -> TLSOptions? {
        guard tls else { return nil }
        var o = TLSOptions(serverName: sni ?? host, alpn: ["h2"], caFile: cacert, insecure: insecure,
                           keyLogFile: keylog ?? TLSOptions.environmentKeyLogFile)
        o.certificateFile = cert
        o.privateKeyFile = key
        return o
    }
}
