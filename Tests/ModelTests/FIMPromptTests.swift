import TestFixtures
import Testing
@testable import Model

@Test func fimPromptHasTheSpecialTokensInPSMOrder() throws {
    let tokenizer = try Fixtures.byteVocabulary(merges: Fixtures.codeMerges).makeTokenizer()
    let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 100, order: .psm)
        .build(prefix: Array("func f() {\n    ret".utf8), suffix: Array("\n}\n".utf8))
    let s = tokenizer.specials
    #expect(prompt.tokens.first == s.fimPrefix)
    #expect(prompt.tokens.last == s.fimMiddle)
    #expect(prompt.prefixTokenStart == 1)
    let suffixMarker = try #require(prompt.tokens.firstIndex(of: s.fimSuffix!))
    #expect(tokenizer.decode(Array(prompt.tokens[1..<suffixMarker])) + prompt.healing == Array("func f() {\n    ret".utf8))
    #expect(prompt.healing == Array("ret".utf8))
    #expect(tokenizer.decode(Array(prompt.tokens[(suffixMarker + 1)..<(prompt.tokens.count - 1)])) == Array("\n}\n".utf8))
    #expect(prompt.prefixBytes == 18 && prompt.suffixBytes == 3)
}

@Test func fimPromptInSPMOrderEndsWithThePrefix() throws {
    let tokenizer = try Fixtures.byteVocabulary(merges: Fixtures.codeMerges).makeTokenizer()
    // SPM is the default: the model continues the prefix, which ends the prompt.
    let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 100)
        .build(prefix: Array("func f() {\n    ret".utf8), suffix: Array("\n}\n".utf8))
    let s = tokenizer.specials
    #expect(Array(prompt.tokens.prefix(2)) == [s.fimPrefix!, s.fimSuffix!])
    let middleMarker = try #require(prompt.tokens.firstIndex(of: s.fimMiddle!))
    #expect(tokenizer.decode(Array(prompt.tokens[2..<middleMarker])) == Array("\n}\n".utf8))
    #expect(prompt.prefixTokenStart == middleMarker + 1)
    // The word at the cursor is left for the model to write again (token healing).
    #expect(prompt.healing == Array("ret".utf8))
    #expect(tokenizer.decode(Array(prompt.tokens[(middleMarker + 1)...])) + prompt.healing == Array("func f() {\n    ret".utf8))
    #expect(prompt.prefixBytes == 18 && prompt.suffixBytes == 3)
}

@Test(arguments: FIMOrder.allCases)
func fimPromptKeepsTheTextNearestTheCursorWithinBudget(order: FIMOrder) throws {
    let tokenizer = try Fixtures.byteVocabulary(merges: Fixtures.codeMerges).makeTokenizer()
    let s = tokenizer.specials
    let prefix = Array((0..<300).map { "line \($0) of the prefix\n" }.joined().utf8) + Array("let x = ".utf8)
    let suffix = Array((0..<300).map { "line \($0) of the suffix\n" }.joined().utf8)
    for budget in [8, 40, 200, 1000] {
        let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: budget, order: order).build(prefix: prefix, suffix: suffix)
        #expect(prompt.tokens.count <= budget)
        let keptPrefix: [UInt8], keptSuffix: [UInt8]
        switch order {
        case .psm:
            let marker = try #require(prompt.tokens.firstIndex(of: s.fimSuffix!))
            keptPrefix = tokenizer.decode(Array(prompt.tokens[1..<marker])) + prompt.healing
            keptSuffix = tokenizer.decode(Array(prompt.tokens[(marker + 1)...].dropLast()))
        case .spm:
            let marker = try #require(prompt.tokens.firstIndex(of: s.fimMiddle!))
            keptSuffix = tokenizer.decode(Array(prompt.tokens[2..<marker]))
            keptPrefix = tokenizer.decode(Array(prompt.tokens[(marker + 1)...])) + prompt.healing
        }
        #expect(prefix.suffix(keptPrefix.count).elementsEqual(keptPrefix), "prefix ends at the cursor")
        #expect(suffix.prefix(keptSuffix.count).elementsEqual(keptSuffix), "suffix starts at the cursor")
        if budget >= 40 { #expect(keptSuffix.count > 0 && keptPrefix.count > keptSuffix.count) }
    }
}

@Test func fimPromptNeedsFIMTokens() throws {
    var vocabulary = Fixtures.byteVocabulary(merges: Fixtures.codeMerges)
    vocabulary.specials.fimMiddle = nil
    let tokenizer = try vocabulary.makeTokenizer()
    // Without a whole set of FIM tokens the vocabulary is prompted with the prefix only (healed)...
    let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 50).build(prefix: Array("a".utf8), suffix: Array("b".utf8))
    #expect(prompt.tokens == [0] && prompt.healing == Array("a".utf8))
    // ...and asking for FIM anyway is an error.
    var builder = FIMPromptBuilder(tokenizer: tokenizer, budget: 50)
    builder.style = .fim(.spm)
    #expect(throws: ModelError.self) { try builder.build(prefix: Array("a".utf8), suffix: Array("b".utf8)) }
}

@Test func tokenHealingTakesBackTheWordAtTheCursor() throws {
    let tokenizer = try Fixtures.byteVocabulary(merges: Fixtures.codeMerges).makeTokenizer()
    func healing(_ prefix: String) throws -> String {
        let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 100).build(prefix: Array(prefix.utf8), suffix: [])
        #expect(tokenizer.decode(Array(prompt.tokens[prompt.prefixTokenStart...])) + prompt.healing == Array(prefix.utf8))
        return String(decoding: prompt.healing, as: UTF8.self)
    }
    #expect(try healing("let x = foo.ba") == "ba")         // the identifier, not the dot before it
    #expect(try healing("call(") == "(")                    // the last token only
    #expect(try healing("let abcdefgh") == "efgh")          // at most four tokens
    #expect(try healing("done\n") == "")                    // a line end is a clean cut
    #expect(try healing("") == "")
    // After a line's indentation: the line end and the blanks, which the tokenizer writes before a word
    // differently, are taken back (one token here, as in SmolLM2's vocabulary); nothing before them.
    let indented = try Fixtures.byteVocabulary(merges: ["\n ", "\n  ", "\n   ", "\n    "] + Fixtures.codeMerges).makeTokenizer()
    // Prefix-only prompts (a model without FIM) heal them; SPM prompts (a model trained on prefixes cut anywhere) keep them.
    var builder = FIMPromptBuilder(tokenizer: indented, budget: 100)
    builder.style = .prefixOnly(fileHeaderToken: nil)
    let prompt = try builder.build(prefix: Array("f() {\n    ".utf8), suffix: [])
    #expect(prompt.healing == Array("\n    ".utf8))
    #expect(indented.decode(Array(prompt.tokens[prompt.prefixTokenStart...])) == Array("f() {".utf8))
    let spm = try FIMPromptBuilder(tokenizer: indented, budget: 100).build(prefix: Array("f() {\n    ".utf8), suffix: [])
    #expect(spm.healing.isEmpty)
    // PSM prompts heal too: the middle, after <fim_middle>, starts with the word's bytes again.
    let psm = try FIMPromptBuilder(tokenizer: tokenizer, budget: 100, order: .psm).build(prefix: Array("foo.ba".utf8), suffix: Array("()\n".utf8))
    #expect(psm.healing == Array("ba".utf8))
    let suffixMarker = try #require(psm.tokens.firstIndex(of: tokenizer.specials.fimSuffix!))
    #expect(tokenizer.decode(Array(psm.tokens[1..<suffixMarker])) == Array("foo.".utf8))
    #expect(psm.tokens.last == tokenizer.specials.fimMiddle)
}

/// A cursor after a line's indentation: the prompt's prefix is cut as the same text is when code
/// follows it, and the blanks that cut gives the next word are healed (written again first).
@Test(arguments: ["func f() {\n    ", "def f():\n        ", "if x {\n\t\t"])
func indentationAtTheCursorIsCutAsCodeIsCut(prefixText: String) throws {
    let tokenizer = try Fixtures.byteVocabulary(merges: Fixtures.codeMerges).makeTokenizer()
    let prefix = Array(prefixText.utf8)
    let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 100).build(prefix: prefix, suffix: Array("\n}\n".utf8))
    let middleMarker = try #require(prompt.tokens.firstIndex(of: tokenizer.specials.fimMiddle!))
    let prefixTokens = Array(prompt.tokens[(middleMarker + 1)...])
    #expect(tokenizer.decode(prefixTokens) + prompt.healing == prefix)
    #expect(prompt.prefixBytes == prefix.count)
    // The same tokens as the text with a word after the cursor, less that word's token.
    let withWord = tokenizer.encode(bytes: prefix + Array("x".utf8))
    #expect(prefixTokens == Array(withWord.dropLast()))
    #expect(prompt.healing + Array("x".utf8) == tokenizer.tokenBytes(withWord.last!))
    #expect(prompt.healing.allSatisfy { $0 == 0x20 || $0 == 0x09 })
}
