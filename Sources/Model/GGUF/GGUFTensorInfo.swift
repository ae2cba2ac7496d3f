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
            throw fail("first dimension \(ne0) is not a multiple of the \(type.ggufTypeName) block size \(type.blockSize)")
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

extension GGMLType {
    /// The type's name as ggml prints it ("Q8_0", "F16").
    // Spelled out here because `GGMLType.description` recurses forever for quantized types: its
    // fallback `String(describing: self)` calls `description` again (reported to the Kernels owner).
    var ggufTypeName: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        case .iq2_xxs: return "IQ2_XXS"
        case .iq2_xs: return "IQ2_XS"
        case .iq3_xxs: return "IQ3_XXS"
        case .iq1_s: return "IQ1_S"
        case .iq4_nl: return "IQ4_NL"
        case .iq3_s: return "IQ3_S"
        case .iq2_s: return "IQ2_S"
        case .iq4_xs: return "IQ4_XS"
        case .iq1_m: return "IQ1_M"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        }
    }
}
