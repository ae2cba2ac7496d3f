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
        #expect(throws: TokenizerError.unknownPreTokenizer("llama3")) { try PreTokenizer(name: "llama3") }
    }
}
