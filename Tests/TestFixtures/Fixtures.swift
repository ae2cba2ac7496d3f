import Foundation
import Kernels
import Model

/// The test fixtures every test target shares: byte-level vocabularies, small generated models and
/// temporary paths. Nothing binary is committed; models are written at test time.
public enum Fixtures {
    /// The control tokens of the fixture vocabularies, ids 0...4.
    public static let specialTexts = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]
    public static let specialTokens = SpecialTokens(endOfText: 0, fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, fimPad: 4)

    /// Merges for common code fragments (a few multi-byte tokens for the tokenizer to find).
    public static let codeMerges = ["  ", "    ", "re", "in", "et", "ret", "retu", "return"]

    /// The pre-tokenizer the fixtures name: one the tokenizer supports.
    public static let preTokenizer = "starcoder"

    /// A byte-level BPE vocabulary: the five control tokens (unless `specials` is false: then token i is
    /// byte i), the 256 byte tokens in GPT-2's byte-to-character spelling, then one token per text of
    /// `merges` that can be built from a known left part and one more byte.
    /// `controls` replaces the five control tokens with others (e.g. another family's FIM spelling); the
    /// special ids are then found by their known spellings.
    public static func byteVocabulary(merges mergeTexts: [String] = [], specials: Bool = true,
                                      controls: [String]? = nil) -> TokenizerMetadata {
        var tokens = controls ?? (specials ? specialTexts : [])
        var types = [Int32](repeating: 3, count: tokens.count)
        for b in 0...255 {
            tokens.append(String(ByteLevelAlphabet.scalars[b]))
            types.append(1)
        }
        var merges: [String] = []
        var known = Set(tokens)
        for text in mergeTexts.map({ String($0.utf8.map { Character(ByteLevelAlphabet.scalars[Int($0)]) }) }) where text.count >= 2 {
            let left = String(text.dropLast()), right = String(text.last!)
            guard known.contains(left), known.contains(right), !known.contains(text) else { continue }
            merges.append("\(left) \(right)")
            tokens.append(text)
            types.append(1)
            known.insert(text)
        }
        let noSpecials = SpecialTokens(endOfText: nil, fimPrefix: nil, fimSuffix: nil, fimMiddle: nil, fimPad: nil)
        let found = controls.map { _ in SpecialTokens(findingIn: tokens) }
        return TokenizerMetadata(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: preTokenizer,
                                 specials: found ?? (specials ? specialTokens : noSpecials))
    }

    /// A fresh path in this test process's temporary directory.
    public static func temporaryPath(_ name: String) -> String {
        temporaryDirectory(reuse: true) + "/\(UUID().uuidString)-\(name)"
    }

    /// A directory for this test process (`reuse`) or a new one.
    public static func temporaryDirectory(reuse: Bool = false) -> String {
        let name = "understudy-tests-\(getpid())" + (reuse ? "" : "-\(UUID().uuidString)")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The small shape the fixture models have.
    public static func config(vocabularySize: Int, kvHeads: Int = 2, contextLength: Int = 128,
                              architecture: Architecture = .llama) -> LlamaConfig {
        LlamaConfig(architecture: architecture, vocabularySize: vocabularySize, dim: 64, hiddenDim: 96, layers: 2,
                    heads: 4, kvHeads: kvHeads, contextLength: contextLength)
    }

    /// Writes a random model over `vocabulary` with matrices of `type` and loads it; `config` (over the
    /// same vocabulary) replaces the default shape, `kvHeads` and `architecture`.
    public static func randomModel(vocabulary: TokenizerMetadata = byteVocabulary(merges: codeMerges), type: GGMLType = .f32, tiedOutput: Bool = false,
                                   kvHeads: Int = 2, scale: Float = 0.3, seed: UInt64 = 7,
                                   architecture: Architecture = .llama, config: LlamaConfig? = nil) throws -> (LlamaModel, RandomLlamaWeights) {
        let config = config ?? Fixtures.config(vocabularySize: vocabulary.tokens.count, kvHeads: kvHeads, architecture: architecture)
        let weights = RandomLlamaWeights(config: config, seed: seed, scale: scale)
        let path = temporaryPath("model-\(type).gguf")
        try LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: tiedOutput, matrixType: type,
                                  name: "fixture", tensor: weights.tensor, to: path)
        defer { unlink(path) }   // the mapping stays valid after the name is gone
        return (try LlamaModel(path: path), weights)
    }

    /// A tiny model whose greedy output is lowercase letters only: its output matrix keeps just the rows
    /// of the byte tokens `a`...`z`, so it never writes a newline, a bracket or end-of-text. The text is
    /// meaningless but never empty, which is what machinery tests (ranges, caching, cancellation) need.
    /// Written once per test process.
    public static let lettersModelPath: String = writeLettersModel(seed: 11, name: "letters")

    /// Another letters model (other weights, the same vocabulary), e.g. a draft model for the letters
    /// model that often writes other letters. Written once per test process.
    public static let otherLettersModelPath: String = writeLettersModel(seed: 12, name: "other-letters")

    /// Writes a letters model: `controls` before the bytes (the letters' rows follow them), its own context
    /// length and extra metadata.
    private static func writeLettersModel(seed: UInt64, name: String, controls: [String] = specialTexts, contextLength: Int = 256,
                                          metadata: [(String, GGUFValue)] = []) -> String {
        let vocabulary = byteVocabulary(controls: controls)
        let config = Fixtures.config(vocabularySize: vocabulary.tokens.count, contextLength: contextLength)
        let weights = RandomLlamaWeights(config: config, seed: seed, scale: 0.3)
        let letters = (Int(UInt8(ascii: "a"))...Int(UInt8(ascii: "z"))).map { $0 + controls.count }
        let path = temporaryDirectory(reuse: true) + "/\(name).gguf"
        try! LlamaFileWriter.write(config: config, tokenizer: vocabulary, tiedOutput: false, matrixType: .f32,
                                   name: "\(name)-fixture", metadata: metadata, tensor: { name in
            var values = weights.tensor(name)
            guard name == "output.weight" else { return values }
            for row in 0..<config.vocabularySize where !letters.contains(row) {
                for col in 0..<config.dim { values[row * config.dim + col] = 0 }
            }
            return values
        }, to: path)
        return path
    }

    public static let lettersModel: LlamaModel = try! LlamaModel(path: lettersModelPath)

    /// SmolLM2-135M-Instruct's chat template (ChatML with a default system prompt), as its GGUF has it.
    public static let chatMLTemplate = """
        {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
        You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
        ' }}{% endif %}{{'<|im_start|>' + message['role'] + '
        ' + message['content'] + '<|im_end|>' + '
        '}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
        ' }}{% endif %}
        """

    /// The letters model with a chat template: ChatML markers after the five control tokens and
    /// `chatMLTemplate` in `tokenizer.chat_template`, so the instruct action is offered. It writes
    /// letters until its token limit, never `<|im_end|>`. Written once per test process.
    public static let chatLettersModelPath: String =
        writeLettersModel(seed: 11, name: "chat-letters", controls: specialTexts + ["<|im_start|>", "<|im_end|>"],
                          contextLength: 2048, metadata: [("tokenizer.chat_template", .string(chatMLTemplate))])
}
