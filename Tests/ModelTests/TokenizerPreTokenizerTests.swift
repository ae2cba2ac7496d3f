import Testing
@testable import Model

/// Hand-checked splits for llama.cpp's "starcoder" and "gpt-2" pre-tokenizers.
struct TokenizerPreTokenizerTests {
    private func split(_ text: String, _ name: String = "starcoder") throws -> [String] {
        try splitBytes(Array(text.utf8), name).map { String(decoding: $0, as: UTF8.self) }
    }

    private func splitBytes(_ bytes: [UInt8], _ name: String = "starcoder") throws -> [[UInt8]] {
        let pre = try PreTokenizer(name: name)
        let ranges = pre.pieces(bytes)
        // The pieces must tile the input exactly.
        var next = 0
        for range in ranges {
            #expect(range.lowerBound == next && !range.isEmpty)
            next = range.upperBound
        }
        #expect(next == bytes.count)
        return ranges.map { Array(bytes[$0]) }
    }

    @Test func wordsTakeOneLeadingSpace() throws {
        #expect(try split("Hello world  foo") == ["Hello", " world", " ", " foo"])
        #expect(try split(" leading") == [" leading"])
        #expect(try split("trailing ") == ["trailing", " "])
        #expect(try split("trailing   ") == ["trailing", "   "])
    }

    @Test func contractionsAreLowercaseOnly() throws {
        #expect(try split("don't we'll they're I've she'd it's I'm") ==
                ["don", "'t", " we", "'ll", " they", "'re", " I", "'ve", " she", "'d", " it", "'s", " I", "'m"])
        #expect(try split("I'M") == ["I", "'", "M"])
        #expect(try split("x')") == ["x", "')"])
        #expect(try split("'") == ["'"])
    }

    @Test func runsOfSpacesAndNewlines() throws {
        #expect(try split("a   b") == ["a", "  ", " b"])
        #expect(try split("def f():\n    return x\n") == ["def", " f", "():", "\n   ", " return", " x", "\n"])
        #expect(try split("a\n\n\nb") == ["a", "\n\n", "\n", "b"])
        #expect(try split("a \n b") == ["a", " \n", " b"])
        #expect(try split("  ") == ["  "])
    }

    @Test func crlfAndTabs() throws {
        #expect(try split("a\r\nb") == ["a", "\r", "\n", "b"])
        #expect(try split("a\r\n\r\nb") == ["a", "\r\n\r", "\n", "b"])
        #expect(try split("\tif x:\n\t\treturn") == ["\t", "if", " x", ":", "\n\t", "\t", "return"])
        #expect(try split("a\t b") == ["a", "\t", " b"])
    }

    @Test func digitsStandAloneInStarcoder() throws {
        #expect(try split("x = 12345;") == ["x", " =", " ", "1", "2", "3", "4", "5", ";"])
        #expect(try split("v2beta") == ["v", "2", "beta"])
        #expect(try split("x = 12345;", "gpt-2") == ["x", " =", " 12345", ";"])
        #expect(try split("v2beta", "gpt-2") == ["v", "2", "beta"])
        // Other \p{N} code points split too: Arabic-Indic three (Nd), vulgar one half (No), Roman numeral one (Nl).
        #expect(try split("a٣½Ⅰb") == ["a", "٣", "½", "Ⅰ", "b"])
    }

    @Test func punctuationRuns() throws {
        #expect(try split("a+=b;//c") == ["a", "+=", "b", ";//", "c"])
        #expect(try split("f(x) -> [Int]") == ["f", "(", "x", ")", " ->", " [", "Int", "]"])
        #expect(try split("\"\"\"doc\"\"\"") == ["\"\"\"", "doc", "\"\"\""])
        #expect(try split("#!/usr/bin") == ["#!/", "usr", "/", "bin"])
    }

    @Test func nonASCIILettersAndSpaces() throws {
        #expect(try split("café naïve Straße") == ["café", " naïve", " Straße"])
        #expect(try split("// 日本語のコメント") == ["//", " 日本語のコメント"])
        #expect(try split("# 注释：中文") == ["#", " 注释", "：", "中文"])
        #expect(try split("Ωμέγα") == ["Ωμέγα"])
        // A combining accent is \p{M}, not a letter.
        #expect(try split("e\u{301}t\u{301}") == ["e", "\u{301}", "t", "\u{301}"])
        // NO-BREAK SPACE and IDEOGRAPHIC SPACE are \s but not the plain space of " ?".
        #expect(try split("a\u{A0}b") == ["a", "\u{A0}", "b"])
        #expect(try split("a\u{3000}\u{3000}b") == ["a", "\u{3000}", "\u{3000}", "b"])
    }

    @Test func emojiAreSymbols() throws {
        #expect(try split("x 🎉🎉 y") == ["x", " 🎉🎉", " y"])
        #expect(try split("ok👍🏽!") == ["ok", "👍🏽!"])
    }

    @Test func invalidUTF8BytesStandAlone() throws {
        #expect(try splitBytes([0x61, 0xFF, 0x62]) == [[0x61], [0xFF], [0x62]])
        // Truncated 3-byte sequence, overlong "/", and an encoded surrogate: every byte alone.
        #expect(try splitBytes([0x61, 0xE2, 0x82]) == [[0x61], [0xE2], [0x82]])
        #expect(try splitBytes([0xC0, 0xAF]) == [[0xC0], [0xAF]])
        #expect(try splitBytes([0xED, 0xA0, 0x80]) == [[0xED], [0xA0], [0x80]])
        #expect(try splitBytes([0x20, 0xFF, 0x20, 0x61]) == [[0x20], [0xFF], [0x20, 0x61]])
        // Valid 4-byte scalar stays whole.
        #expect(try splitBytes([0x2B, 0xF0, 0x9F, 0x98, 0x80]) == [[0x2B, 0xF0, 0x9F, 0x98, 0x80]])
    }

    @Test func codepointsNewerThanLlamaTablesCountAsOther() throws {
        // U+10D50 GARAY CAPITAL LETTER A is from Unicode 16.0; llama.cpp's 15.1 table calls it unassigned.
        #expect(CodepointClass.of(0x10D50) == .other)
        #expect(CodepointClass.of(0x4E2D) == .letter)
        #expect(CodepointClass.of(0x0663) == .number)
        #expect(CodepointClass.of(0x2028) == .whitespace)
        #expect(CodepointClass.of(0x1C) == .other)
    }

    @Test func unknownNameIsRejected() {
        #expect(throws: TokenizerError.unknownPreTokenizer("tekken")) { try PreTokenizer(name: "tekken") }
    }

    // The lists below were traced by hand through llama.cpp's matchers and regexes (llama-vocab.cpp,
    // unicode.cpp); scripts/crosscheck-llamacpp checks the ids on real files.

    @Test func qwen2KeepsOneNonLetterBeforeAWordAndSplitsDigits() throws {
        #expect(try split("x = 12345;", "qwen2") == ["x", " =", " ", "1", "2", "3", "4", "5", ";"])
        #expect(try split("def f():\n    return x\n", "qwen2") == ["def", " f", "():\n", "   ", " return", " x", "\n"])
        #expect(try split("\tif x:\n\t\treturn", "qwen2") == ["\tif", " x", ":\n", "\t", "\treturn"])
        #expect(try split("(self.value)", "qwen2") == ["(self", ".value", ")"])
        #expect(try split("a\n\n\nb", "qwen2") == ["a", "\n\n\n", "b"])
        #expect(try split("a \n b", "qwen2") == ["a", " \n", " b"])
        #expect(try split("a  b x==y", "qwen2") == ["a", " ", " b", " x", "==", "y"])
        // Contractions in either case; a line break after punctuation joins it.
        #expect(try split("I'M don't", "qwen2") == ["I", "'M", " don", "'t"])
        #expect(try split("});\r\n}", "qwen2") == ["});\r\n", "}"])
    }

    @Test func llamaBPEGroupsDigitsByThree() throws {
        #expect(try split("x = 1234567", "llama-bpe") == ["x", " =", " ", "123", "456", "7"])
        #expect(try PreTokenizer(name: "llama-bpe").ignoresMerges)
        #expect(try !PreTokenizer(name: "qwen2").ignoresMerges)
    }

    @Test func deepseekCoderRunsItsFiveRegexesInTurn() throws {
        #expect(try split("x = 12;\n", "deepseek-coder") == ["x", " = ", "1", "2", ";", "\n"])
        #expect(try split("foo.bar()", "deepseek-coder") == ["foo", ".", "bar", "()"])
        #expect(try split("a  b", "deepseek-coder") == ["a", " ", " b"])
        // CJK letters join a letter run first; the CJK range then cuts them out of it.
        #expect(try split("中文abc", "deepseek-coder") == ["中文", "abc"])
        // Non-ASCII white space inside the CJK range does not match it (llama.cpp shows it to std::wregex as U+000B).
        #expect(try split(" \u{2028} x\u{3000}y", "deepseek-coder") == [" \u{2028}", " x", "\u{3000}y"])
    }

    @Test func defaultCutsPunctuationFirstAndDigitsInThrees() throws {
        #expect(try split("x = 12345;", "default") == ["x", " ", "=", " ", "123", "45", ";"])
        #expect(try split("a->b", "default") == ["a", "->", "b"])
        #expect(try split("foo.bar(baz)", "default") == ["foo", ".", "bar", "(", "baz", ")"])
        // The backtick is not in the first regex's set.
        #expect(try split("`x` hello world", "default") == ["`", "x", "`", " hello", " world"])
        // A file without `tokenizer.ggml.pre` gets "default", as in llama.cpp.
        #expect(try PreTokenizer(name: nil).name == "default")
    }
}
