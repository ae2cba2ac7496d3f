import Foundation
import Kernels
@testable import Model

/// Small generated models for tests: nothing binary is committed.
enum ModelFixtures {
    /// GPT-2's byte-to-character map: printable bytes stand for themselves, the rest move to U+0100 and up.
    static func byteToCharacter(_ byte: UInt8) -> Character {
        let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
        if printable { return Character(Unicode.Scalar(byte)) }
        var shifted = 0
        for b in 0..<Int(byte) where !((33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)) {
            shifted += 1
        }
        return Character(Unicode.Scalar(UInt32(256 + shifted))!)
    }

    static let specialTexts = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]

    /// Five control tokens, the 256 byte tokens and a few merges for common code fragments.
    static func byteVocabulary(merges mergeTexts: [String] = [" ", "  ", "    ", "re", "in", "et", "ret", "retu", "return"]) -> TokenizerMetadata {
        var tokens = specialTexts
        var types = [Int32](repeating: 3, count: specialTexts.count)
        for b in 0...255 { tokens.append(String(byteToCharacter(UInt8(b)))); types.append(1) }
        var merges: [String] = []
        var known = Set(tokens)
        // Each merge text is split into a known left part and a single-byte right part.
        for text in mergeTexts.map({ String($0.utf8.map { byteToCharacter($0) }) }) where text.count >= 2 {
            let left = String(text.dropLast()), right = String(text.last!)
            guard known.contains(left), known.contains(right), !known.contains(text) else { continue }
            merges.append("\(left) \(right)")
            tokens.append(text)
            types.append(1)
            known.insert(text)
        }
        return TokenizerMetadata(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: defaultPreTokenizer,
                                 specials: SpecialTokens(endOfText: 0, fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, fimPad: 4))
    }

    /// The pre-tokenizer the fixtures use: the first the tokenizer supports.
    static var defaultPreTokenizer: String { "starcoder" }

    static func config(vocabularySize: Int, kvHeads: Int = 2) -> LlamaConfig {
        LlamaConfig(vocabularySize: vocabularySize, dim: 64, hiddenDim: 96, layers: 2, heads: 4, kvHeads: kvHeads,
                    contextLength: 128)
    }

    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("understudy-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }

    /// Writes a random model with matrices of `type` and loads it.
    static func model(type: GGMLType = .f32, tiedOutput: Bool = false, kvHeads: Int = 2, scale: Float = 0.3,
                      seed: UInt64 = 7) throws -> (LlamaModel, RandomLlamaWeights) {
        let vocabulary = byteVocabulary()
        let config = config(vocabularySize: vocabulary.tokens.count, kvHeads: kvHeads)
        let weights = RandomLlamaWeights(config: config, seed: seed, scale: scale)
        let path = temporaryPath("model-\(type).gguf")
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: tiedOutput, matrixType: type,
                                  name: "fixture", tensor: weights.tensor, to: path)
        defer { unlink(path) }   // the mapping stays valid after the name is gone
        return (try LlamaModel(path: path), weights)
    }
}
