/// A bounds-checked little-endian cursor over untrusted bytes.
///
/// Every read checks the bytes that remain before touching them, and every length or count is
/// checked against the remaining bytes before anything is allocated for it.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    /// Throws unless `count` more bytes are available.
    func require(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        guard count <= remaining else {
            throw .truncated(what: what(), offset: position, needed: count, available: remaining)
        }
    }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        try require(MemoryLayout<T>.size, what())
        let raw = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: raw)
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt32 {
        try fixed(UInt32.self, what())
    }

    mutating func u64(_ what: @autoclosure () -> String) throws(GGUFError) -> UInt64 {
        try fixed(UInt64.self, what())
    }

    /// Reads a count of items each taking at least `minimumSize` bytes, rejecting counts the
    /// remaining bytes cannot hold, so the caller may safely reserve that many slots.
    mutating func count(_ what: @autoclosure () -> String, minimumSize: Int) throws(GGUFError) -> Int {
        let at = position
        let raw = try u64(what())
        let limit = UInt64(remaining / max(minimumSize, 1))
        guard raw <= limit else { throw .tooLarge(what: what(), count: raw, offset: at) }
        return Int(raw)
    }

    /// Reads a UInt64 length followed by that many bytes of UTF-8.
    mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let at = position
        let length = try u64("\(what()) length")
        guard length <= UInt64(remaining) else {
            throw .truncated(what: what(), offset: position, needed: Int(clamping: length), available: remaining)
        }
        let n = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position ..< position + n])
        guard let s = String(validating: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw .invalidUTF8(what: what(), offset: at)
        }
        position += n
        return s
    }

    /// Moves the cursor forward without reading (for padding).
    mutating func skip(to offset: Int) {
        position = offset
    }
}
