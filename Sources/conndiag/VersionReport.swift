import ConnDiagHTTP2
import ConnDiagTCP
import ConnDiagTLS

/// What `conndiag --version` prints, as `curl --version` does: the version (VERSION file),
/// the commit it was built from, and the versions of the C libraries loaded at run time —
/// the ones that decide capture, HTTP/2 and TLS behaviour on this machine.
enum VersionReport {
    static var text: String {
        """
        conndiag \(BuildInfo.version) (commit \(BuildInfo.commit); \(architecture)-linux)
        libpcap: \(PcapLibrary.version)
        nghttp2: \(NGHTTP2Library.version)
        OpenSSL: \(OpenSSLLibrary.version)
        """
    }

    static var architecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "aarch64"
        #else
        return "unknown"
        #endif
    }
}
