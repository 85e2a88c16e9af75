import CPcap

/// The libpcap conndiag runs with (not the headers it was built against), for --version.
public enum PcapLibrary {
    /// pcap_lib_version(), e.g. "libpcap version 1.10.3 (with TPACKET_V3)".
    public static var version: String { String(cString: pcap_lib_version()) }
}
