import Testing
import ConnDiagHTTP2

/// analyze hands out the saved fields of a header block that arrives again byte for byte
/// while the HPACK dynamic table is unchanged; any table change (an insert, a size update)
/// or a failure must force a real decode, since indexed references resolve against the table.
@Suite struct HPACKReplayTests {
    func decode(_ d: HTTP2FrameDecoder, _ block: [UInt8]) -> [String]? {
        var out: [String] = []
        let r = block.withUnsafeBytes { raw in
            d.decodeHeaderBlock(raw) { n, v in out.append(String(decoding: n, as: UTF8.self) + ": " + String(decoding: v, as: UTF8.self)) }
        }
        return r == nil ? out : nil
    }
    func lit(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }

    @Test func repeatedBlocksFollowTheDynamicTable() {
        let d = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        let a: [UInt8] = [0x40] + lit("custom-key") + lit("custom-header")
        let b: [UInt8] = [0xbe, 0x04] + lit("/sample/path") + [0x10] + lit("x-never") + lit("secret") + [0x82]
        let c: [UInt8] = [0x40] + lit("custom-key") + lit("custom-heade2")
        #expect(decode(d, a) == ["custom-key: custom-header"])
        let want1 = ["custom-key: custom-header", ":path: /sample/path", "x-never: secret", ":method: GET"]
        #expect(decode(d, b) == want1)
        #expect(decode(d, b) == want1)
        #expect(decode(d, b) == want1)
        #expect(decode(d, c) == ["custom-key: custom-heade2"])
        let want2 = ["custom-key: custom-heade2", ":path: /sample/path", "x-never: secret", ":method: GET"]
        #expect(decode(d, b) == want2)
        #expect(decode(d, b) == want2)
        // A size update clears the table: index 62 is gone.
        #expect(decode(d, [0x20]) == [])
        #expect(decode(d, b) == nil)
        #expect(decode(d, b) == nil)
        // A bad index fails every time, and a failure is never replayed.
        let d2 = HTTP2FrameDecoder(side: .server, fromConnectionStart: false)
        #expect(decode(d2, [0x82, 0xff, 0x10]) == nil)
        #expect(decode(d2, [0x82, 0xff, 0x10]) == nil)
        #expect(decode(d2, [0x82]) == [":method: GET"])
        #expect(decode(d2, [0x82]) == [":method: GET"])
        #expect(decode(d2, [0x82, 0x84]) == [":method: GET", ":path: /"])
    }
}
