/// The fields of one header block, copied out of nghttp2's memory into one reused buffer: no
/// allocation per field or per block once warmed up (a reference type over raw memory, so
/// adding a field is a bounds check and a memcpy). Used by the HPACK replay cache and by
/// `analyze`, which makes Strings only for blocks whose event is kept.
/// Inlinable: `add` runs once per header field of a capture's hot path, across modules.
public final class HeaderFieldBuffer {
    @usableFromInline struct Span {
        @usableFromInline var name: Int, nameCount: Int, value: Int, valueCount: Int
        @usableFromInline init(name: Int, nameCount: Int, value: Int, valueCount: Int) {
            self.name = name; self.nameCount = nameCount; self.value = value; self.valueCount = valueCount
        }
    }
    @usableFromInline var bytes: UnsafeMutableRawPointer
    @usableFromInline var byteCapacity: Int
    @usableFromInline var used = 0
    @usableFromInline var spans: UnsafeMutablePointer<Span>
    @usableFromInline var spanCapacity: Int
    @usableFromInline var fieldCount = 0
    /// Fields held.
    public var count: Int { fieldCount }

    public init(byteCapacity: Int = 4096, fieldCapacity: Int = 64) {
        self.byteCapacity = max(byteCapacity, 16)
        self.spanCapacity = max(fieldCapacity, 4)
        bytes = .allocate(byteCount: self.byteCapacity, alignment: 8)
        spans = .allocate(capacity: self.spanCapacity)
    }

    deinit {
        bytes.deallocate()
        spans.deallocate()
    }

    @inlinable public func reset() {
        used = 0
        fieldCount = 0
    }

    @inlinable public func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let need = used + name.count + value.count
        if need > byteCapacity { growBytes(to: need) }
        if fieldCount == spanCapacity { growSpans() }
        if let n = name.baseAddress, !name.isEmpty { (bytes + used).copyMemory(from: n, byteCount: name.count) }
        if let v = value.baseAddress, !value.isEmpty { (bytes + used + name.count).copyMemory(from: v, byteCount: value.count) }
        (spans + fieldCount).initialize(to: Span(name: used, nameCount: name.count, value: used + name.count, valueCount: value.count))
        used = need
        fieldCount += 1
    }

    @usableFromInline func growBytes(to need: Int) {
        let capacity = max(need, 2 * byteCapacity)
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        grown.copyMemory(from: bytes, byteCount: used)
        bytes.deallocate()
        bytes = grown
        byteCapacity = capacity
    }

    @usableFromInline func growSpans() {
        let grown = UnsafeMutablePointer<Span>.allocate(capacity: 2 * spanCapacity)
        grown.moveInitialize(from: spans, count: fieldCount)
        spans.deallocate()
        spans = grown
        spanCapacity *= 2
    }

    /// Calls `visit` with each field in order, as views into the buffer (valid during the call).
    @inlinable public func visitFields(_ visit: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        for i in 0..<fieldCount {
            let sp = spans[i]
            visit(UnsafeRawBufferPointer(start: bytes + sp.name, count: sp.nameCount),
                  UnsafeRawBufferPointer(start: bytes + sp.value, count: sp.valueCount))
        }
    }

    /// The fields as strings (for a kept event).
    public func headers() -> [HTTP2Header] {
        var out: [HTTP2Header] = []
        out.reserveCapacity(count)
        visitFields { n, v in out.append(HTTP2Header(String(decoding: n, as: UTF8.self), String(decoding: v, as: UTF8.self))) }
        return out
    }
}
