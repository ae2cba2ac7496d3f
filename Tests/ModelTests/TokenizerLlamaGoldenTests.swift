import Testing
@testable import Model

/// Ids recorded from llama.cpp (llama-cpp-python 0.3.36, vocab-only GGUF, pre "starcoder",
/// add_bos=false, special=false) for a hand-made vocabulary whose merges would cross any wrongly
/// placed pre-token boundary. Our encoder must reproduce them exactly.
struct TokenizerLlamaGoldenTests {
    static let merges: [(String, String)] = [
        ("Ġ", "Ġ"), ("ĠĠ", "Ġ"), ("ĠĠ", "ĠĠ"), ("Ċ", "Ġ"), ("Ċ", "Ċ"), ("č", "Ċ"), ("ĉ", "ĉ"), ("Ċ", "ĉ"),
        ("'", "r"), ("'r", "e"), ("'", "s"), ("'", "M"), ("Ġ", "a"), ("1", "2"), ("Ġ", "1"), ("=", "="),
        ("Ġ", "="), ("(", ")"), (")", ":"), ("Ã", "©"), ("c", "a"), ("ca", "f"), ("caf", "Ã©"), ("¼", "'"),
        ("ð", "Ł"), ("Ġ", "ð"), ("ä", "¸"), ("Â", "ł"), ("Ġ", "Ċ"), ("d", "e"), ("de", "f"), ("r", "e"),
        ("re", "t"), ("u", "r"), ("ur", "n"), ("ret", "urn"), ("Ġ", "return"), ("'", "Ġ"),
    ]

    static let cases: [(String, [Int32])] = [
        ("def f():\n    return 12\n", [291, 37, 107, 278, 63, 15, 262, 297, 37, 54, 55, 15]),
        ("a\r\n\r\n  b", [102, 266, 18, 264, 37, 103]),
        ("\t\tx\n\t\ty", [14, 14, 125, 268, 14, 126]),
        ("don't they're I'M '", [105, 116, 115, 44, 121, 37, 121, 109, 106, 126, 270, 37, 78, 44, 82, 37, 44]),
        ("x == 12 ==12", [125, 37, 276, 37, 54, 55, 37, 276, 54, 55]),
        ("café naïve 中文：注释", [283, 37, 115, 102, 200, 180, 123, 106, 37, 287, 178, 235, 155, 140, 244, 193, 159,
                               235, 184, 173, 238, 140, 143]),
        ("a\u{A0}\u{A0}b\u{3000}c", [102, 288, 288, 103, 232, 133, 133, 104]),
        ("emoji 🎉👍🏽 ok", [106, 114, 116, 111, 110, 37, 285, 147, 142, 285, 150, 146, 285, 148, 194, 37, 116, 112]),
        // U+1403C and U+1C89 are Unicode 16 letters but unassigned in llama.cpp's tables: "¼'" merges.
        ("\u{1403C}'re \u{1C89}'s \u{10D50}a", [245, 153, 133, 284, 292, 37, 230, 183, 142, 44, 120, 286, 149, 186, 149, 102]),
        ("v = (1, 2)  # ½ ٣ Ⅻ", [123, 277, 37, 45, 54, 49, 37, 55, 46, 37, 37, 40, 37, 199, 194, 37, 222, 168, 37, 231, 138, 176]),
        ("trailing   ", [121, 119, 102, 110, 113, 110, 115, 108, 262]),
        ("  leading", [37, 37, 113, 106, 102, 105, 110, 115, 108]),
        ("e\u{301}\u{301}x", [106, 209, 134, 209, 134, 125]),
        ("<fim_prefix>x<|endoftext|>", [65, 107, 110, 114, 100, 117, 292, 107, 110, 125, 67, 125, 65, 129, 106, 115, 105,
                                        116, 107, 121, 106, 125, 121, 129, 67]),
    ]

    @Test func matchesLlamaCpp() throws {
        let tokenizer = try HandVocabulary(merges: Self.merges).tokenizer(pre: "starcoder")
        for (text, expected) in Self.cases {
            let ids = tokenizer.encode(text)
            #expect(ids == expected, "\(text.debugDescription)")
            #expect(tokenizer.decode(ids) == Array(text.utf8))
        }
    }
}
