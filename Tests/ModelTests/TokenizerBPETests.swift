import TestFixtures
import Testing
@testable import Model

/// Builds GGUF-style arrays: 5 control tokens, the 256 byte tokens (ids 5...260), then one token per merge.
struct HandVocabulary {
    var tokens: [String] = Fixtures.specialTexts
    var types: [Int32] = Array(repeating: 3, count: 5)
    var merges: [String] = []

    init(merges pairs: [(String, String)]) {
        for byte in 0..<256 {
            tokens.append(String(ByteLevelAlphabet.scalars[byte]))
            types.append(1)
        }
        for (left, right) in pairs {
            merges.append(left + " " + right)
            if !tokens.contains(left + right) {
                tokens.append(left + right)
                types.append(1)
            }
        }
    }

    func tokenizer(pre: String = "starcoder") throws -> BPETokenizer {
        try BPETokenizer(tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: pre,
                         specials: SpecialTokens(findingIn: tokens))
    }

    func id(_ text: String) -> Int32 { Int32(tokens.firstIndex(of: text)!) }
}

struct TokenizerBPETests {
    @Test func byteAlphabetMatchesGPT2() {
        let s = ByteLevelAlphabet.scalars
        #expect(s[0x20] == "\u{120}" && s[0x0A] == "\u{10A}" && s[0x09] == "\u{109}")
        #expect(s[0x00] == "\u{100}" && s[0x7F] == "\u{121}" && s[0xA0] == "\u{142}" && s[0xAD] == "\u{143}")
        #expect(s[0x41] == "A" && s[0xA1] == "¡" && s[0xFF] == "ÿ")
        #expect(Set(s).count == 256)
        let all = (0..<256).map { UInt8($0) }
        #expect(ByteLevelAlphabet.decode(ByteLevelAlphabet.encode(all)) == all)
        #expect(ByteLevelAlphabet.decode("A\u{3000}") == nil)
    }

    @Test func mergesApplyByRank() throws {
        let bcFirst = HandVocabulary(merges: [("b", "c"), ("a", "b")])
        #expect(try bcFirst.tokenizer().encode("abc") == [bcFirst.id("a"), bcFirst.id("bc")])
        let abFirst = HandVocabulary(merges: [("a", "b"), ("b", "c")])
        #expect(try abFirst.tokenizer().encode("abc") == [abFirst.id("ab"), abFirst.id("c")])
    }

    @Test func equalRanksMergeLeftmostFirst() throws {
        let vocab = HandVocabulary(merges: [("a", "a"), ("aa", "a")])
        let tokenizer = try vocab.tokenizer()
        #expect(tokenizer.encode("aa") == [vocab.id("aa")])
        #expect(tokenizer.encode("aaa") == [vocab.id("aaa")])
        #expect(tokenizer.encode("aaaa") == [vocab.id("aa"), vocab.id("aa")])
        #expect(tokenizer.encode("aaaaa") == [vocab.id("aa"), vocab.id("aaa")])
        let onlyPairs = HandVocabulary(merges: [("a", "a")])
        #expect(try onlyPairs.tokenizer().encode("aaa") == [onlyPairs.id("aa"), onlyPairs.id("a")])
    }

    @Test func mergesStayInsidePreTokens() throws {
        // "Ġ" is the alphabet's space; "a b" pre-tokenizes as "a", " b", so "a Ġ" can never apply.
        let vocab = HandVocabulary(merges: [("a", "Ġ"), ("Ġ", "b"), ("Ġ", "Ġ")])
        let tokenizer = try vocab.tokenizer()
        #expect(tokenizer.encode("a b") == [vocab.id("a"), vocab.id("Ġb")])
        #expect(tokenizer.encode("a   b") == [vocab.id("a"), vocab.id("ĠĠ"), vocab.id("Ġb")])
        // Digits are single pre-tokens in starcoder, so "1 2" style merges never fire there.
        let digits = HandVocabulary(merges: [("1", "2")])
        #expect(try digits.tokenizer().encode("12") == [digits.id("1"), digits.id("2")])
        #expect(try digits.tokenizer(pre: "gpt-2").encode("12") == [digits.id("12")])
    }

    @Test func specialTextIsNotParsed() throws {
        let vocab = HandVocabulary(merges: [("f", "i"), ("fi", "m")])
        let tokenizer = try vocab.tokenizer()
        let ids = tokenizer.encode("<fim_prefix>x")
        #expect(!ids.contains(vocab.id("<fim_prefix>")))
        #expect(ids.prefix(2) == [vocab.id("<"), vocab.id("fim")])
        #expect(tokenizer.decode(ids) == Array("<fim_prefix>x".utf8))
        let prefix = vocab.id("<fim_prefix>")
        #expect(tokenizer.tokenBytes(prefix) == Array("<fim_prefix>".utf8))
        #expect(tokenizer.isControl(prefix) && !tokenizer.isControl(vocab.id("a")))
        #expect(tokenizer.specials == SpecialTokens(endOfText: 0, fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, fimPad: 4))
        #expect(tokenizer.tokenBytes(-1) == [] && tokenizer.tokenBytes(Int32(vocab.tokens.count)) == [])
        #expect(tokenizer.tokenBytes(vocab.id("Ġ")) == [0x20])
    }

    @Test func randomBytesRoundTrip() throws {
        let vocab = HandVocabulary(merges: [("Ġ", "Ġ"), ("e", "r"), ("i", "n"), ("Ġ", "t"), ("Ã", "©"), ("ĠĠ", "ĠĠ")])
        let tokenizer = try vocab.tokenizer()
        var rng = SplitMix64(seed: 42)
        let ascii = Array(" \t\n\r".utf8) + Array("abcdefghijklmnopqrstuvwxyz0123456789(){}[]:;,.'\"".utf8)
        for _ in 0..<300 {
            let length = Int.random(in: 0...200, using: &rng)
            let bytes: [UInt8] = (0..<length).map { _ in
                Bool.random(using: &rng) ? ascii.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            let ids = tokenizer.encode(bytes: bytes)
            #expect(tokenizer.decode(ids) == bytes)
            #expect(ids.allSatisfy { !tokenizer.isControl($0) })
        }
    }

    @Test func realTextRoundTrips() throws {
        let vocab = HandVocabulary(merges: [("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"), ("r", "e"), ("re", "t"), ("u", "r"), ("ur", "n"), ("ret", "urn")])
        let tokenizer = try vocab.tokenizer()
        let text = "func greet(_ name: String) -> String {\r\n    // Grüße, 世界! 🎉\r\n    return \"héllo \\(name)\" // ½ ٣\n}\n\t\u{A0}\u{3000}x"
        let ids = tokenizer.encode(text)
        #expect(tokenizer.decode(ids) == Array(text.utf8))
        #expect(ids.contains(vocab.id("return")) && ids.contains(vocab.id("ĠĠ")))
        #expect(tokenizer.encode(bytes: Array(text.utf8)) == ids)
    }

    @Test func inconsistentVocabulariesAreRejected() throws {
        let vocab = HandVocabulary(merges: [("a", "b")])
        func make(tokens: [String]? = nil, merges: [String]? = nil, types: [Int32]?? = nil, pre: String = "starcoder",
                  specials: SpecialTokens = SpecialTokens()) throws -> BPETokenizer {
            try BPETokenizer(tokens: tokens ?? vocab.tokens, merges: merges ?? vocab.merges,
                             tokenTypes: types ?? vocab.types, preTokenizer: pre, specials: specials)
        }
        #expect(throws: TokenizerError.unknownPreTokenizer("tekken")) { try make(pre: "tekken") }
        #expect(throws: TokenizerError.duplicateToken(text: "a", firstID: 5 + 0x61, secondID: vocab.tokens.count)) {
            try make(tokens: vocab.tokens + ["a"], types: vocab.types + [1])
        }
        // A vocabulary without a byte's token loads (SmolLM2 lacks byte 0x04); that byte is dropped, as llama.cpp does.
        var noSpace = vocab.tokens
        noSpace[5 + 0x20] = "SPACE"
        let spaceless = try make(tokens: noSpace)
        #expect(spaceless.decode(spaceless.encode("a b")) == Array("ab".utf8))
        #expect(spaceless.encode(" ").isEmpty)
        #expect(throws: TokenizerError.mergeNamesMissingToken(rank: 1, merge: "b c", missing: "bc")) {
            try make(merges: vocab.merges + ["b c"])
        }
        #expect(throws: TokenizerError.malformedMerge(rank: 1, merge: "abc")) { try make(merges: vocab.merges + ["abc"]) }
        #expect(throws: TokenizerError.tokenTypeCountMismatch(tokens: vocab.tokens.count, tokenTypes: 3)) {
            try make(types: [1, 1, 1])
        }
        #expect(throws: TokenizerError.specialTokenOutOfRange(name: "fimPad", id: 9999, vocabularySize: vocab.tokens.count)) {
            try make(specials: SpecialTokens(fimPad: 9999))
        }
        // Without token types every token is normal.
        #expect(try make(types: .some(nil)).isControl(0) == false)
    }
}
