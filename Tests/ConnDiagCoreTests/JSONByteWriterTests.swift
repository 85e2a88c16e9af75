import Testing
@testable import ConnDiagCore

/// The report is written as bytes (`JSONByteWriter`); its numbers and strings must read
/// exactly as `JSONValue.format` and `JSONValue.escape` write them.
@Suite struct JSONByteWriterTests {
    @Test func doublesAsFormat() {
        var values: [Double] = [0, -0.0, 1, -1, 0.5, -0.5, 1e-7, -1e-7, 0.000001, 0.0000005, 0.0000004, 123.456789, 123.4567891,
                                123456789.123456, 9.999999, 9.9999995, 0.1, 0.2, 0.3, 2.5e-6,
                                .infinity, -.infinity, .nan, 1e12 + 0.25, 4_000_000_000.000001]
        var x = 0.000123
        for _ in 0..<2000 { values.append(x); values.append(-x); x *= 1.0137 }
        for d in values {
            #expect(JSONValue.double(d).serialized() == JSONValue.format(d), "\(d)")
        }
    }

    @Test func integersAsString() {
        for i: Int64 in [0, 1, -1, 9, 10, -10, 1234567890, .max, .min, .max - 1, .min + 1] {
            #expect(JSONValue.int(i).serialized() == String(i))
        }
    }

    @Test func stringsAsEscape() {
        var strings = ["", "plain", "quote \" and backslash \\", "new\nline\r\ttab", "\u{0}\u{1}\u{1f}\u{7f}", "é ü 漢字 🙂",
                       "\"", "\\", "end\\", "a\u{0b}b", "grpc-message: x%20y"]
        strings.append(String(repeating: "x\"", count: 1000))
        for s in strings {
            var want = ""
            JSONValue.escape(s, into: &want)
            #expect(JSONValue.string(s).serialized() == want, "\(s.debugDescription)")
        }
    }

    @Test func chunksJoinToTheWholeText() {
        let value = JSONValue.object((0..<500).map { i in
            ("k\(i)", .array([.int(Int64(i)), .string("v\"\(i)"), .double(Double(i) / 7), .bool(i % 2 == 0), .null, .object([]), .array([])]))
        })
        for pretty in [false, true] {
            var pieces: [String] = []
            value.serialize(pretty: pretty, chunk: 256) { pieces.append($0) }
            #expect(pieces.count > 10)
            #expect(pieces.joined() == value.serialized(pretty: pretty))
        }
        #expect(JSONValue.object([("a", .array([.int(1), .object([("b", .null)])])), ("c", .array([]))]).serialized(pretty: true)
                == "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": []\n}")
    }
}
