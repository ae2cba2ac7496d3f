import TestFixtures
import Testing
@testable import Model

/// The prompt style follows the vocabulary: our FIM tokens → SPM, Qwen's → PSM, none → prefix only.
struct PromptStyleTests {
    static let starCoder2Controls = ["<|endoftext|>", "<repo_name>", "<file_sep>", "<filename>"]
    static let qwenControls = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                               "<|repo_name|>", "<|file_sep|>"]

    private func tokenizer(_ controls: [String]) throws -> BPETokenizer {
        try Fixtures.byteVocabulary(merges: Fixtures.codeMerges, controls: controls).makeTokenizer()
    }

    @Test func specialTokensAreFoundByTheirSpellings() throws {
        let smol = try tokenizer(Self.starCoder2Controls).specials
        #expect(smol == SpecialTokens(endOfText: 0, repoName: 1, fileSeparator: 2, fileName: 3))
        #expect(!smol.hasFIM)
        let qwen = try tokenizer(Self.qwenControls).specials
        #expect(qwen == SpecialTokens(endOfText: 0, fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, fimPad: 4, repoName: 5,
                                      fileSeparator: 6))
    }

    @Test func styleIsChosenFromTheVocabulary() throws {
        #expect(PromptStyle(tokenizer: try Fixtures.byteVocabulary().makeTokenizer()) == .fim(.spm))
        #expect(PromptStyle(tokenizer: try tokenizer(Self.qwenControls)) == .fim(.psm))
        #expect(PromptStyle(tokenizer: try tokenizer(Self.qwenControls), fimOrder: .spm) == .fim(.spm))
        #expect(PromptStyle(tokenizer: try tokenizer(Self.starCoder2Controls)) == .prefixOnly(fileHeaderToken: 2))
        #expect(PromptStyle(tokenizer: try tokenizer(["<|endoftext|>", "<filename>"])) == .prefixOnly(fileHeaderToken: 1))
        #expect(PromptStyle(tokenizer: try tokenizer(["<|endoftext|>"])) == .prefixOnly(fileHeaderToken: nil))
    }

    @Test func qwenPromptsInPSMWithItsOwnTokens() throws {
        let t = try tokenizer(Self.qwenControls)
        let prompt = try FIMPromptBuilder(tokenizer: t, budget: 100).build(prefix: Array("let x = ".utf8), suffix: Array("\n}".utf8))
        #expect(prompt.tokens.first == 1 && prompt.tokens.last == 2)
        let suffixMarker = try #require(prompt.tokens.firstIndex(of: 3))
        // The last prefix token is taken back for token healing, as in every style: the middle starts with it.
        #expect(t.decode(Array(prompt.tokens[1..<suffixMarker])) + prompt.healing == Array("let x = ".utf8))
        #expect(prompt.healing == Array(" ".utf8))
    }

    @Test func prefixOnlyPromptHasTheFileHeaderAndHealsTheWordAtTheCursor() throws {
        let t = try tokenizer(Self.starCoder2Controls)
        let prompt = try FIMPromptBuilder(tokenizer: t, budget: 100)
            .build(prefix: Array("func f() {\n    ret".utf8), suffix: Array("\n}\n".utf8), fileName: "main.swift")
        let header = [Int32(0), 2] + t.encode("main.swift\n")
        #expect(Array(prompt.tokens.prefix(header.count)) == header)
        #expect(prompt.prefixTokenStart == header.count)
        #expect(prompt.healing == Array("ret".utf8))
        #expect(t.decode(Array(prompt.tokens[header.count...])) + prompt.healing == Array("func f() {\n    ret".utf8))
        #expect(prompt.suffixBytes == 0)
    }

    @Test func prefixOnlyPromptKeepsTheLastTokensWithinBudget() throws {
        let t = try tokenizer(["<|endoftext|>"])
        let prefix = Array((0..<200).map { "line \($0)\n" }.joined().utf8)
        let prompt = try FIMPromptBuilder(tokenizer: t, budget: 50).build(prefix: prefix, suffix: [])
        #expect(prompt.tokens.count <= 50 && prompt.tokens.first == 0)
        #expect(t.decode(Array(prompt.tokens[1...])) + prompt.healing == Array(prefix.suffix(prompt.prefixBytes)))
    }

    @Test func aPromptIsNeverEmpty() throws {
        let t = try Fixtures.byteVocabulary(specials: false).makeTokenizer()
        // Without <|endoftext|> the only token is not healed away.
        let one = try FIMPromptBuilder(tokenizer: t, budget: 10).build(prefix: Array("x".utf8), suffix: [])
        #expect(one.tokens == t.encode("x") && one.healing.isEmpty)
        #expect(throws: ModelError.self) { try FIMPromptBuilder(tokenizer: t, budget: 10).build(prefix: [UInt8](), suffix: []) }
    }

    @Test func assemblerNamesTheFileFromItsURI() throws {
        let t = try tokenizer(Self.starCoder2Controls)
        let input = CompletionInput(uri: "file:///work/project/Sources/App.swift", languageId: "swift",
                                    prefix: Array("import Foundation\n".utf8), suffix: [])
        let prompt = try ContextAssembler(tokenizer: t, budget: 200).prompt(for: input, header: [])
        #expect(Array(prompt.tokens.prefix(2)) == [0, 2])
        #expect(t.decode(Array(prompt.tokens[2..<prompt.prefixTokenStart])) == Array("App.swift\n".utf8))
    }
}
