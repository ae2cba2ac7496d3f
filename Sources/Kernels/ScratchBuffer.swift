/// A growable, 64-byte aligned byte buffer reused across kernel calls so hot paths never allocate.
///
/// It only grows (to the largest size ever requested), so after the first few calls of a forward pass
/// `reserve` is a comparison and a pointer return.
final class ScratchBuffer {
    private(set) var bytes: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        bytes = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 64)
    }

    deinit { bytes.deallocate() }

    /// Returns at least `byteCount` bytes; previous contents are not preserved when it grows.
    @inline(__always)
    func reserve(_ byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount > capacity { grow(byteCount) }
        return bytes
    }

    /// Returns room for at least `count` floats.
    @inline(__always)
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        reserve(count * MemoryLayout<Float>.stride).assumingMemoryBound(to: Float.self)
    }

    private func grow(_ byteCount: Int) {
        bytes.deallocate()
        capacity = max(byteCount, capacity * 2)
        bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }
}
