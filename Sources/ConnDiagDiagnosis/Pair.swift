/// Two values indexed by side (0 client, 1 server), stored inline (no heap).
@frozen public struct Pair<T> {
    public var c: T
    public var s: T
    @inlinable public init(_ c: T, _ s: T) { self.c = c; self.s = s }
    @inlinable public var indices: Range<Int> { 0..<2 }
    /// Plain get/set, always inlined (coroutine accessors were a call each): meant for small
    /// values and references; a large struct would be copied on every access.
    @inlinable @inline(__always) public subscript(_ i: Int) -> T {
        get { i == 0 ? c : s }
        set { if i == 0 { c = newValue } else { s = newValue } }
    }
}
