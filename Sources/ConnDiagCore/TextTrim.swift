extension StringProtocol where SubSequence == Substring {
    /// The text without leading and trailing horizontal white space: tab and the Unicode
    /// space separators (Zs), the set Foundation's `CharacterSet.whitespaces` holds.
    public var trimmingWhitespace: Substring {
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == "\t" || c.properties.generalCategory == .spaceSeparator }
        let scalars = self[...].unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let last = scalars.lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
