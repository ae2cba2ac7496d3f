import Kernels
import TestFixtures
import Testing
@testable import Model

/// Model files whose matrices are in each of the types downloaded GGUFs use (Q4_K_M, Q5_K_M, Q6_K and
/// Q4_1 files, BF16): a good one loads and runs; a row that is not a whole number of blocks, a wrong
/// type tag and truncated tensor data are clear errors, never a crash.
@Suite struct QuantizedModelFileTests {
    static let types: [GGMLType] = [.bf16, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// A one-layer model, every dimension a multiple of 256 so that any type's blocks fit.
    static let config: LlamaConfig = {
        let vocabulary = Fixtures.byteVocabulary()
        return LlamaConfig(vocabularySize: vocabulary.tokens.count, dim: 256, hiddenDim: 512, layers: 1, heads: 4,
                           kvHeads: 2, contextLength: 64)
    }()

    /// The model's GGUF with its matrices in `type`: random bytes as the blocks, with finite half
    /// scales where the format keeps them (the values do not matter here, only the layout).
    static func modelBytes(_ type: GGMLType, alterDimensions: ((String, [Int]) -> [Int])? = nil) throws -> [UInt8] {
        let path = Fixtures.temporaryPath("f32-source.gguf")
        try LlamaFileWriter.write(config: config, tokenizer: Fixtures.byteVocabulary(), tiedOutput: false, matrixType: .f32,
                                  name: "quantized-fixture", tensor: RandomLlamaWeights(config: config, seed: 1).tensor, to: path)
        let source = try GGUFFile(path: path)
        var writer = GGUFWriter(alignment: source.alignment)
        for (key, value) in source.metadata { writer.set(key, value) }
        var rng = SplitMix64(seed: UInt64(type.rawValue))
        for tensor in source.tensors {
            guard tensor.dimensions.count == 2 else {
                try writer.addTensor(name: tensor.name, type: tensor.type, dimensions: tensor.dimensions,
                                     data: Array(source.data(for: tensor)))
                continue
            }
            let dimensions = alterDimensions?(tensor.name, tensor.dimensions) ?? tensor.dimensions
            let count = dimensions.reduce(1, *)
            let bytes = (count / type.blockSize) * type.bytesPerBlock
            // Small random bytes: halves below 0x3C00 are finite and under 1 (no infinities in scales).
            let data = (0..<bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) & 0x3B }
            try writer.addTensor(name: tensor.name, type: type, dimensions: dimensions, data: data)
        }
        return writer.serialized()
    }

    @Test(arguments: types)
    func aModelInEachTypeLoadsAndRuns(type: GGMLType) throws {
        let model = try LlamaModel(file: GGUFFile(bytes: Self.modelBytes(type)))
        #expect(model.weights.layers[0].down.type == type)
        let context = InferenceContext(model: model, threads: 2)
        let logits = try context.evaluate(prompt: [1, 70, 71, 72])
        #expect(logits.count == Self.config.vocabularySize)
    }

    @Test(arguments: types)
    func truncatedTensorDataIsAClearError(type: GGMLType) throws {
        let bytes = try Self.modelBytes(type)
        // Where the last tensor's data ends (the alignment padding after it may go).
        let file = try GGUFFile(bytes: bytes)
        let end = file.dataOffset + file.tensors.map { $0.offset + $0.byteCount }.max()!
        for cut in [1, 7, 100, end / 3] {
            #expect(throws: (any Error).self) {
                _ = try LlamaModel(file: GGUFFile(bytes: Array(bytes[..<(end - cut)])))
            }
        }
    }

    /// Rows of 255 or 250 values: not a whole number of 32- or 256-value blocks.
    @Test(arguments: types.filter { $0.blockSize > 1 })
    func rowsThatAreNotWholeBlocksAreAClearError(type: GGMLType) throws {
        // The writer itself refuses such a tensor, so the file is made by hand below: a good file whose
        // gate matrix's row length is then edited in the header.
        let good = try Self.modelBytes(type)
        var bytes = good
        let name = Array("blk.0.ffn_gate.weight".utf8)
        let at = try #require(Self.find(name, in: bytes))
        // name, then n_dims (u32), then the dimensions (u64 each): the first is the row length.
        let dimension = at + name.count + 4
        let odd = type.blockSize == 256 ? 250 : 255
        withUnsafeBytes(of: UInt64(odd).littleEndian) { for i in 0..<8 { bytes[dimension + i] = $0[i] } }
        do {
            _ = try LlamaModel(file: GGUFFile(bytes: bytes))
            Issue.record("a \(type) row of \(odd) values loaded")
        } catch {
            let message = "\(error)"
            #expect(message.contains("ffn_gate") || message.contains("block") || message.contains("shape"), "\(message)")
        }
    }

    /// A type tag naming another type of a different block size: the byte count no longer matches.
    @Test func aWrongTypeTagIsAClearError() throws {
        var bytes = try Self.modelBytes(.q4_1)
        let name = Array("blk.0.ffn_up.weight".utf8)
        let at = try #require(Self.find(name, in: bytes))
        let typeField = at + name.count + 4 + 2 * 8
        #expect(bytes[typeField] == UInt8(GGMLType.q4_1.rawValue))
        bytes[typeField] = UInt8(GGMLType.q6_K.rawValue)
        #expect(throws: (any Error).self) { _ = try LlamaModel(file: GGUFFile(bytes: bytes)) }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
