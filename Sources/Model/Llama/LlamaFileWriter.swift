import Kernels

/// Writes llama models as GGUF files llama.cpp can load.
public enum LlamaFileWriter {
    /// llama.cpp's `general.file_type` for a file whose matrices are mostly `type`.
    public static func fileType(_ type: GGMLType) -> UInt32 {
        switch type {
        case .f16: return 1
        case .q4_0: return 2
        case .q8_0: return 7
        default: return 0
        }
    }

    /// The type a tensor is stored as: norms (1-D) stay F32; matrices take `matrixType` when their rows
    /// divide into its blocks.
    public static func storageType(dimensions: [Int], matrixType: GGMLType) -> GGMLType {
        guard dimensions.count == 2, dimensions[0] % matrixType.blockSize == 0 else { return .f32 }
        return matrixType
    }

    /// Writes a model whose float tensors `tensor(name)` returns, with matrices stored as `matrixType`.
    /// Extra metadata (training details, names) goes in `metadata`.
    public static func write(config: LlamaConfig, tokenizer: TokenizerMetadata, tiedOutput: Bool,
                             matrixType: GGMLType, name: String, metadata: [(String, GGUFValue)] = [],
                             tensor: (String) throws -> [Float], to path: String) throws {
        var writer = GGUFWriter()
        writer.set("general.name", .string(name))
        config.write(to: &writer)
        writer.set("general.file_type", .uint32(fileType(matrixType)))
        tokenizer.write(to: &writer)
        for (key, value) in metadata { writer.set(key, value) }
        for (tensorName, dimensions) in llamaTensorLayout(config, tiedOutput: tiedOutput) {
            let values = try tensor(tensorName)
            let count = dimensions.reduce(1, *)
            guard values.count == count else {
                throw ModelError.tensorShape(name: tensorName, expected: dimensions, found: [values.count])
            }
            let type = storageType(dimensions: dimensions, matrixType: matrixType)
            try writer.addTensor(name: tensorName, type: type, dimensions: dimensions,
                                 data: encode(values, as: type, rowLength: dimensions[0]))
        }
        try writer.write(to: path)
    }

    /// `values` as bytes of `type`, row by row.
    public static func encode(_ values: [Float], as type: GGMLType, rowLength: Int) -> [UInt8] {
        let rowBytes = type.rowBytes(rowLength)!
        let rows = values.count / rowLength
        return [UInt8](unsafeUninitializedCapacity: rows * rowBytes) { bytes, initialized in
            values.withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    Quantization.quantize(type, src.baseAddress! + r * rowLength, count: rowLength,
                                          into: UnsafeMutableRawPointer(bytes.baseAddress! + r * rowBytes))
                }
            }
            initialized = rows * rowBytes
        }
    }
}

/// Random weights for a llama shape: tests, benchmarks and the starting point of training.
public struct RandomLlamaWeights {
    public let config: LlamaConfig
    public let seed: UInt64
    /// Standard deviation of the matrices (norm weights are 1).
    public var scale: Float

    public init(config: LlamaConfig, seed: UInt64, scale: Float = 0.02) {
        self.config = config
        self.seed = seed
        self.scale = scale
    }

    /// The tensor `name` (norms are ones; everything else, biases included, normal with `scale`), the
    /// same for the same seed.
    public func tensor(_ name: String) -> [Float] {
        let dimensions = llamaTensorLayout(config, tiedOutput: false).first { $0.name == name }!.dimensions
        let count = dimensions.reduce(1, *)
        if dimensions.count == 1 && !name.hasSuffix(".bias") { return [Float](repeating: 1, count: count) }
        var hash: UInt64 = seed
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var rng = SplitMix64(seed: hash)
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            // Box–Muller: two normal values per pair of uniforms.
            let u1 = max(Float(Double(rng.next() >> 11) / Double(1 << 53)), .leastNormalMagnitude)
            let u2 = Float(Double(rng.next() >> 11) / Double(1 << 53))
            let r = (-2 * log(u1)).squareRoot() * scale
            out[i] = r * cos(2 * .pi * u2)
            if i + 1 < count { out[i + 1] = r * sin(2 * .pi * u2) }
            i += 2
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
