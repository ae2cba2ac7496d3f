import Foundation
import Kernels
import TestFixtures
import Testing
@testable import Model

private func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

private let sampleTokens: [Int32] = [1, 70, 80, 90, 100, 110, 120, 30, 40, 50, 60, 265, 266, 3, 200, 2, 9, 10, 11, 12]

/// The model's logits for `sampleTokens`, token by token and in one batch, are within 1e-3 of `reference`.
private func expectLogits(of model: LlamaModel, match reference: [[Float]]) throws {
    let context = InferenceContext(model: model, threads: 2)
    let sequential = try sampleTokens.map { try context.append([$0]) }
    context.reset()
    let batched = try context.appendReturningAllLogits(sampleTokens)
    for i in sampleTokens.indices {
        #expect(maxAbsDifference(sequential[i], reference[i]) < 1e-3, "token-by-token, position \(i)")
        #expect(maxAbsDifference(batched[i], reference[i]) < 1e-3, "batched, position \(i)")
    }
}

@Test(arguments: [false, true])
func forwardPassMatchesReference(tied: Bool) throws {
    let (model, weights) = try Fixtures.randomModel(tiedOutput: tied)
    let reference = ReferenceTransformer(c: model.config, tensor: weights.tensor).logits(sampleTokens, tiedOutput: tied)
    try expectLogits(of: model, match: reference)
}

@Test func groupedQueryAndFullAttentionBothLoad() throws {
    for kvHeads in [1, 4] {
        let (model, weights) = try Fixtures.randomModel(kvHeads: kvHeads)
        let reference = ReferenceTransformer(c: model.config, tensor: weights.tensor).logits(Array(sampleTokens.prefix(6)))
        let context = InferenceContext(model: model, threads: 1)
        let last = try context.append(Array(sampleTokens.prefix(6)))
        #expect(maxAbsDifference(last, reference[5]) < 1e-3)
    }
}

/// qwen2: Q/K/V biases and half-split RoPE, with 9 heads on 3 KV heads like SmolLM2's grouping and tied
/// or untied output; both the token-by-token and the batched path against the plain reference.
@Test(arguments: [false, true])
func qwen2MatchesReference(tied: Bool) throws {
    let vocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges)
    let config = LlamaConfig(architecture: .qwen2, vocabularySize: vocabulary.tokens.count, dim: 72, hiddenDim: 96,
                             layers: 2, heads: 9, kvHeads: 3, contextLength: 64, ropeTheta: 1_000_000)
    let (model, weights) = try Fixtures.randomModel(vocabulary: vocabulary, tiedOutput: tied, seed: 5, config: config)
    #expect(model.config.architecture == .qwen2 && model.weights.tiedOutput == tied)
    let reference = ReferenceTransformer(c: config, tensor: weights.tensor).logits(sampleTokens, tiedOutput: tied)
    try expectLogits(of: model, match: reference)
}

/// A prompt long enough that the steps between the batch's matrix products (norms, biases, RoPE, the
/// cache's half floats, SwiGLU, residual adds, activations' quantization) are split over the threads too:
/// the logits are the bits one thread computes (every step is per row, every product per output row),
/// and the float model stays on the plain reference.
@Test(arguments: [GGMLType.f32, .q8_0, .q4_1])
func longBatchesSplitOverThreadsGiveOneThreadsBits(type: GGMLType) throws {
    let vocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges)
    let config = LlamaConfig(architecture: .qwen2, vocabularySize: vocabulary.tokens.count, dim: 96, hiddenDim: 128,
                             layers: 2, heads: 6, kvHeads: 2, contextLength: 320, ropeTheta: 10_000)
    let (model, weights) = try Fixtures.randomModel(vocabulary: vocabulary, type: type, seed: 9, config: config)
    let tokens = (0..<300).map { Int32(($0 * 7_919 + 13) % vocabulary.tokens.count) }
    #expect(tokens.count * config.dim >= 1 << 14, "the rows must be many enough to be split")
    let split = try InferenceContext(model: model, threads: 3).appendReturningAllLogits(tokens)
    let alone = try InferenceContext(model: model, threads: 1).appendReturningAllLogits(tokens)
    #expect(split == alone, "\(type): 3 threads and 1 thread differ")
    if type == .f32 {
        let reference = ReferenceTransformer(c: config, tensor: weights.tensor).logits(tokens)
        for i in stride(from: 0, to: tokens.count, by: 23) + [tokens.count - 1] {
            let range = reference[i].max()! - reference[i].min()!
            #expect(maxAbsDifference(split[i], reference[i]) < 1e-3 * range, "position \(i)")
        }
    }
}

@Test func unsupportedArchitectureNamesWhatIsSupported() {
    #expect(ModelError.unsupportedArchitecture("phi3").description
            == "architecture 'phi3' is not supported (supported: llama, qwen2)")
}

/// The weights a quantized file really holds: each matrix quantized and read back.
private func storedTensor(_ weights: RandomLlamaWeights, type: GGMLType) -> (String) -> [Float] {
    { name in
        let values = weights.tensor(name)
        let dims = llamaTensorLayout(weights.config, tiedOutput: false).first { $0.name == name }!.dimensions
        let stored = LlamaFileWriter.storageType(dimensions: dims, matrixType: type)
        let bytes = LlamaFileWriter.encode(values, as: stored, rowLength: dims[0])
        var out = [Float](repeating: 0, count: values.count)
        bytes.withUnsafeBytes { Quantization.dequantize(stored, $0.baseAddress!, count: values.count, into: &out) }
        return out
    }
}

@Test(arguments: [GGMLType.f16, .q8_0, .q4_0])
func quantizedModelsMatchAReferenceOnTheirStoredWeights(type: GGMLType) throws {
    let (model, weights) = try Fixtures.randomModel(type: type)
    let reference = ReferenceTransformer(c: model.config, tensor: storedTensor(weights, type: type)).logits(sampleTokens)
    let context = InferenceContext(model: model, threads: 2)
    // The batched path multiplies float activations by the dequantized weights (as exact as F32), or,
    // with VNNI, quantized activations by the quantized weights, as the token-by-token path does.
    let batched = try context.appendReturningAllLogits(sampleTokens)
    let integerBatches = useVNNIMatmul && type != .f16
    // The token-by-token path quantizes activations to Q8_0 first (as ggml does): close, not exact.
    context.reset()
    let sequential = try sampleTokens.map { try context.append([$0]) }
    var agree = 0
    for i in sampleTokens.indices {
        let range = reference[i].max()! - reference[i].min()!
        // Q4_0 weights are coarser, so the same activation rounding moves the logits a little more.
        let tolerance: Float = type == .f16 ? 1e-3 : type == .q8_0 ? 0.05 : 0.08
        #expect(maxAbsDifference(batched[i], reference[i]) < (integerBatches ? tolerance : 1e-3) * range, "\(type) batched, position \(i)")
        #expect(maxAbsDifference(sequential[i], reference[i]) < tolerance * range, "\(type) sequential, position \(i)")
        if integerBatches {
            // The same integer products; only float summation order differs between the two paths.
            #expect(maxAbsDifference(batched[i], sequential[i]) < 1e-3 * range, "\(type) batched vs sequential, position \(i)")
        }
        if Sampler.argmax(sequential[i]) == Sampler.argmax(reference[i]) { agree += 1 }
    }
    #expect(agree >= sampleTokens.count - (type == .q4_0 ? 2 : 1))
}

@Test func promptPrefixIsReusedFromTheCache() throws {
    let (model, _) = try Fixtures.randomModel()
    let context = InferenceContext(model: model, threads: 2)
    let a: [Int32] = Array(sampleTokens.prefix(12))
    let b: [Int32] = Array(sampleTokens.prefix(9)) + [77, 78, 79, 80]
    _ = try context.evaluate(prompt: a)
    let reused = try context.evaluate(prompt: b)
    #expect(context.lastReusedCount == 9)
    #expect(context.tokens == b)
    let fresh = InferenceContext(model: model, threads: 1)
    #expect(maxAbsDifference(reused, try fresh.evaluate(prompt: b)) < 1e-4)
    // The same prompt again re-runs only its last token.
    _ = try context.evaluate(prompt: b)
    #expect(context.lastReusedCount == b.count - 1)
}

@Test func badTokensAndFullContextAreErrors() throws {
    let (model, _) = try Fixtures.randomModel()
    let context = InferenceContext(model: model, contextSize: 4, threads: 1)
    #expect(throws: ModelError.invalidToken(-1, vocabularySize: model.config.vocabularySize)) { try context.append([-1]) }
    #expect(throws: ModelError.self) { try context.append([Int32(model.config.vocabularySize)]) }
    #expect(throws: ModelError.contextFull(needed: 5, available: 4)) { try context.append([5, 6, 7, 8, 9]) }
    #expect(context.tokens.isEmpty)
}

@Test func generationHonoursItsStopRules() throws {
    let (model, _) = try Fixtures.randomModel()
    let context = InferenceContext(model: model, threads: 1)
    let prompt: [Int32] = [1, 70, 80, 3, 90, 2]
    let long = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 10, singleLine: false))
    #expect(long.tokens.count <= 10)
    #expect(long.stopReason == .maxTokens || long.stopReason == .endOfText)
    #expect(long.promptTokens == prompt.count)
    // The same prompt again reuses everything but its last token, and greedy decoding repeats itself.
    let again = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 10, singleLine: false))
    #expect(again.reusedTokens == prompt.count - 1)
    #expect(again.tokens == long.tokens)
    let single = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 40, singleLine: true))
    #expect(!single.bytes.contains(0x0A))
    var polls = 0
    var written: [[UInt8]] = []
    let cancelled = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 40, singleLine: false)) { bytes in
        written.append(bytes)
        polls += 1
        return polls > 2
    }
    #expect(cancelled.stopReason == .cancelled)
    #expect(cancelled.tokens.count == 2)
    // Each poll sees what was written before it: nothing, then the first token's bytes.
    #expect(written.count == 3 && written[0].isEmpty && written[2] == cancelled.bytes)
    let timed = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 40, timeBudget: .zero, singleLine: false))
    #expect(timed.stopReason == .timeBudget)
    #expect(timed.tokens.isEmpty)
}

@Test func samplerIsGreedyAtZeroTemperatureAndReproducibleWithASeed() {
    var rng = SplitMix64(seed: 3)
    let logits = (0..<100).map { _ in Float(rng.next() % 1000) / 100 }
    var greedy = Sampler(.greedy)
    #expect(greedy.sample(logits) == Sampler.argmax(logits))
    var topOne = Sampler(SamplingSettings(temperature: 1, topK: 1, seed: 9))
    #expect(topOne.sample(logits) == Sampler.argmax(logits))
    var a = Sampler(SamplingSettings(temperature: 0.8, seed: 5)), b = Sampler(SamplingSettings(temperature: 0.8, seed: 5))
    let drawsA = (0..<50).map { _ in a.sample(logits) }, drawsB = (0..<50).map { _ in b.sample(logits) }
    #expect(drawsA == drawsB)
    // top-k 5 only ever draws among the five largest logits.
    var five = Sampler(SamplingSettings(temperature: 2, topK: 5, topP: 1, seed: 1))
    let allowed = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5).map { Int32($0) })
    #expect((0..<200).allSatisfy { _ in allowed.contains(five.sample(logits)) })
}

@Test func loadingRejectsWrongArchitectureAndMissingTensors() throws {
    let vocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges)
    let config = Fixtures.config(vocabularySize: vocabulary.tokens.count)
    let weights = RandomLlamaWeights(config: config, seed: 1)
    let path = Fixtures.temporaryPath("broken.gguf")
    defer { unlink(path) }
    try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32, name: "x",
                              metadata: [("general.architecture", .string("gpt2"))], tensor: weights.tensor, to: path)
    #expect(throws: ModelError.unsupportedArchitecture("gpt2")) { try LlamaModel(path: path) }

    var writer = GGUFWriter()
    config.write(to: &writer)
    vocabulary.write(to: &writer)
    try writer.addTensor(name: "token_embd.weight", type: .f32, dimensions: [config.dim, config.vocabularySize],
                         data: LlamaFileWriter.encode(weights.tensor("token_embd.weight"), as: .f32, rowLength: config.dim))
    try writer.write(to: path)
    #expect(throws: ModelError.missingTensor("blk.0.attn_norm.weight")) { try LlamaModel(path: path) }
}

@Test func healingAllowsExactlyTheTokensConsistentWithTheHealedBytes() throws {
    let tokenizer = try Fixtures.byteVocabulary(merges: Fixtures.codeMerges).makeTokenizer()
    let healed = Array("ret".utf8)
    var logits = [Float](repeating: 1, count: tokenizer.vocabularySize)
    InferenceContext.allowOnlyTokens(consistentWith: healed, in: &logits, tokenizer: tokenizer)
    let allowed = Set(logits.indices.filter { logits[$0] > -.infinity }.map { tokenizer.tokenBytes(Int32($0)) })
    // "r" and "re" write part of it; "ret" and "retu" start with it (the fixture has no "return").
    #expect(allowed == Set(["r", "re", "ret", "retu"].map { Array($0.utf8) }))
}

@Test func healedGenerationRewritesThePromptEndAndReturnsOnlyWhatFollows() throws {
    let (model, _) = try Fixtures.randomModel()
    let context = InferenceContext(model: model, threads: 1)
    let prompt: [Int32] = [1, 3, 70, 80, 2]
    let healing = Array("re".utf8)
    let result = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 6, singleLine: false, healing: healing))
    let written = result.tokens.flatMap { model.tokenizer.tokenBytes($0) }
    #expect(written.starts(with: healing))
    #expect(Array(written.dropFirst(healing.count)) == result.bytes)
}

/// After a line's indentation the first token may not start with a blank; where the model's own first
/// token does not, the output is unchanged, and where it does, the best token without one is taken.
@Test func noLeadingBlankSkipsBlankFirstTokensOnly() throws {
    let (model, _) = try Fixtures.randomModel()
    let context = InferenceContext(model: model, threads: 1)
    let blank: (UInt8?) -> Bool = { $0 == 0x20 || $0 == 0x09 }
    var changed = 0
    for seed in 0..<40 {
        let prompt: [Int32] = [1] + (0..<5).map { Int32(3 + ($0 * 7 + seed * 13) % (model.config.vocabularySize - 3)) }
        let free = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 3, singleLine: false))
        let ruled = try context.generate(prompt: prompt, options: GenerationOptions(maxTokens: 3, singleLine: false, noLeadingBlank: true))
        #expect(!blank(ruled.bytes.first))
        if let first = free.tokens.first, blank(model.tokenizer.tokenBytes(first).first) {
            changed += 1
            let logits = try InferenceContext(model: model, threads: 1).evaluate(prompt: prompt)
            let best = Int32(try #require(logits.indices.filter { !blank(model.tokenizer.tokenBytes(Int32($0)).first) }
                .max { logits[$0] < logits[$1] }))
            // A control token ends the generation before it writes anything.
            #expect(ruled.tokens.first == (model.tokenizer.isControl(best) ? nil : best))
        } else {
            #expect(ruled.tokens == free.tokens)
        }
    }
    #expect(changed > 0, "no prompt started with a blank: the test would not test the rule")
}
