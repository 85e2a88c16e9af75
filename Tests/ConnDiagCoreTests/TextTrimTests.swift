import Testing
import ConnDiagCore

struct TextTrimTests {
    @Test(arguments: [("  a b  ", "a b"), ("\ta\t", "a"), ("\u{00A0}\u{2003}a\u{3000}", "a"), ("a", "a"),
                      ("", ""), (" \t ", ""), ("\na\n", "\na\n"), ("x  ", "x"), ("  x", "x")])
    func trimsHorizontalWhitespace(text: String, trimmed: String) {
        #expect(text.trimmingWhitespace == trimmed)
        #expect(text[...].trimmingWhitespace == trimmed)
    }
}
