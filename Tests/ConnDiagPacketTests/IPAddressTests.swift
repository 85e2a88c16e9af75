import Testing
@testable import ConnDiagPacket

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("::1", "::1"),
        ("fe80::1", "fe80::1"),
        ("2001:db8::1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),     // RFC 5952 4.2.3: first of equal runs
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"), // 4.1 leading zeros, 4.3 lowercase
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),   // 4.2.2: a single 0 group stays
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),           // 4.2.3: the longest run wins
        ("::", "::"),
        ("1::", "1::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::FFFF:0102:0304", "::ffff:1.2.3.4"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("10.0.0.1", "10.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
    ])
    func parseAndPrint(_ text: String, _ printed: String) {
        guard let a = IPAddress(text) else { Issue.record("\(text) did not parse"); return }
        #expect(a.description == printed)
        #expect(IPAddress(printed) == a)              // printing round-trips
        #expect(IPAddress(bytes: a.bytes) == a)       // bytes round-trip
    }

    @Test func mappedAddressValue() {
        #expect(IPAddress("::ffff:1.2.3.4") == .v6(0, 0x0000_FFFF_0102_0304))
        #expect(IPAddress("::ffff:1.2.3.4")?.ipv4Mapped == .v4(0x0102_0304))
        #expect(IPAddress("::1")?.ipv4Mapped == nil)
        #expect(IPAddress("::1") == .v6(0, 1))
        #expect(IPAddress("10.0.0.7") == .v4(0x0A00_0007))
    }

    @Test(arguments: [
        "", ":", ":::", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7:8::", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::1%eth0", " ::1", "+1::", "-1::",
        "1.2.3", "1.2.3.4.5", "1.2.3.256", "+1.2.3.4", "1.2.3.-4", "01.2.3.4", "1..2.3", "1.2.3.4 ",
        "1.2.3.4::", "1.2.3.4::1", "::ffff:1.2.3", "::ffff:1.2.3.4:5", "::1.2.3.4.5", "fe80::0x1",
    ])
    func invalid(_ text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }
}
