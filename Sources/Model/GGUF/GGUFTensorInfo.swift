import Kernels

/// One tensor's name, shape, element type and place in the data section.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Sizes with ne0 (the contiguous, fastest-varying dimension) first, as ggml orders them.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Byte offset within the data section (not the file).
    public let offset: Int
    /// Product of the dimensions (1 for a zero-dimensional tensor).
    public let elementCount: Int
    /// Bytes the tensor's data takes: whole blocks of `type` per row of ne0 elements.
    public let byteCount: Int

    /// Validates the shape and computes the sizes; the error names the tensor.
    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int) throws(GGUFError) {
        if let bad = dimensions.firstIndex(where: { $0 < 0 }) {
            throw .invalidDimensions(tensor: name, dimensions: dimensions.map { UInt64(bitPattern: Int64($0)) },
                                     reason: "dimension \(bad) is negative (\(dimensions[bad]))")
        }
        let (elements, bytes) = try Self.sizes(name: name, dimensions: dimensions.map { UInt64(bitPattern: Int64($0)) }, type: type)
        guard offset >= 0 else {
            throw .tensorOutOfBounds(name: name, offset: offset, byteCount: bytes, dataSize: 0)
        }
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.elementCount = elements
        self.byteCount = bytes
    }

    /// Element and byte counts for raw on-disk dimensions, rejecting anything that overflows `Int`.
    static func sizes(name: String, dimensions raw: [UInt64], type: GGMLType) throws(GGUFError) -> (elements: Int, bytes: Int) {
        func fail(_ reason: String) -> GGUFError {
            .invalidDimensions(tensor: name, dimensions: raw, reason: reason)
        }
        guard raw.count <= GGUFLimits.maxDimensions else {
            throw fail("\(raw.count) dimensions, at most \(GGUFLimits.maxDimensions) allowed")
        }
        var elements = 1
        for (i, d) in raw.enumerated() {
            guard d <= UInt64(Int64.max) else { throw fail("dimension \(i) is \(d), above Int64.max") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw fail("element count overflows a 64-bit integer") }
            elements = product
        }
        let ne0 = raw.first.map { Int($0) } ?? 1
        guard let rowBytes = type.rowBytes(ne0) else {
            throw fail("first dimension \(ne0) is not a multiple of the \(type.description) block size \(type.blockSize)")
        }
        let rows = ne0 == 0 ? 0 : elements / ne0
        let (bytes, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
        guard !overflow else { throw fail("byte count overflows a 64-bit integer") }
        return (elements, bytes)
    }

    /// Builds an info from already-validated parts (the reader's path).
    init(name: String, dimensions: [Int], type: GGMLType, offset: Int, elementCount: Int, byteCount: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.elementCount = elementCount
        self.byteCount = byteCount
    }
}
