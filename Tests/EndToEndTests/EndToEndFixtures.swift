import Foundation
import Model

/// Small generated models for the end-to-end tests (nothing binary is committed).
enum EndToEndFixtures {
    static let specialTexts = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]

    /// Five control tokens and the 256 byte tokens in GPT-2's byte-to-character alphabet.
    static func byteVocabulary() -> TokenizerMetadata {
        var tokens = specialTexts
        var types = [Int32](repeating: 3, count: specialTexts.count)
        for b in 0...255 {
            tokens.append(String(ByteLevelAlphabet.scalars[b]))
            types.append(1)
        }
        return TokenizerMetadata(tokens: tokens, merges: [], tokenTypes: types, preTokenizer: "starcoder",
                                 specials: SpecialTokens(endOfText: 0, fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, fimPad: 4))
    }

    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("understudy-e2e-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("\(UUID().uuidString)-\(name)").path
    }
}
