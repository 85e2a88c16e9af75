extension String {
    /// Padded with spaces to `width`; a longer string is left as it is.
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// A table column: padded to `width`, and at least one space after a longer string so
    /// the next column never touches it.
    func column(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
