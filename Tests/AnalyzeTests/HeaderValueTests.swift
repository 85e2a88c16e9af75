import Testing
@testable import ConnDiagAnalyze

/// `:status` is read from its bytes; it must give what `Int(String)` gives for any value.
@Suite struct HeaderValueTests {
    @Test func decimalAsInt() {
        let values = ["200", "0", "007", "999999999999999999", "9999999999999999999", "", "+200", "-1", "20 0", " 200", "2a", "١٢", "200\0"]
        for v in values {
            let bytes = Array(v.utf8)
            let got = bytes.withUnsafeBytes { H2Session.decimal($0) }
            #expect(got == Int(v), "\(v.debugDescription)")
        }
    }
}
