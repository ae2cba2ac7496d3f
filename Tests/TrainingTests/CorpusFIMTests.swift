import Model
import TestFixtures
import Testing
@testable import Training

struct CorpusFIMTests {
    let tokenizer: BPETokenizer
    let fim: FIMTransform
    init() throws {
        tokenizer = try EvalFixtures.tokenizer()
        fim = try FIMTransform(tokenizer: tokenizer)
    }

    @Test func exactPSMAndSPMLayouts() {
        let text = Array("let a = 1\nreturn a\n".utf8)
        let (p, m, s) = (Array(text[..<4]), Array(text[4..<13]), Array(text[13...]))
        let (pre, suf, mid, eot): (Int32, Int32, Int32, Int32) = (1, 3, 2, 0)
        #expect(fim.example(text, cuts: 4, 13, mode: .psm)
                == [pre] + tokenizer.encode(bytes: p) + [suf] + tokenizer.encode(bytes: s) + [mid] + tokenizer.encode(bytes: m) + [eot])
        #expect(fim.example(text, cuts: 4, 13, mode: .spm)
                == [pre, suf] + tokenizer.encode(bytes: s) + [mid] + tokenizer.encode(bytes: p) + tokenizer.encode(bytes: m) + [eot])
        // Empty pieces are allowed: both cuts at the end leave only a prefix.
        #expect(fim.example(text, cuts: text.count, text.count, mode: .psm) == [pre] + tokenizer.encode(bytes: text) + [suf, mid, eot])
    }

    /// A training example holds exactly the prompt the language server builds for the same cut, in
    /// both orders, and the middle. In SPM the prompt is the example's start and the prefix tokens it
    /// took back for token healing come first in what follows; in PSM, where the middle follows the
    /// suffix, the prompt is the example without those tokens (the model writes their bytes again at
    /// the start of the middle). Also for a cut right after a line's indentation (15: before "let"),
    /// where both end the prefix as code is cut and the middle starts with the last blank.
    @Test(arguments: [(FIMOrder.psm, FIMMode.psm), (.spm, .spm)])
    func trainingExamplesMatchTheLanguageServersPromptBuilder(order: FIMOrder, mode: FIMMode) throws {
        let text = Array("func f() {\n    let a = 1\n    return a\n}\n".utf8)
        let builder = FIMPromptBuilder(tokenizer: tokenizer, budget: 512, order: order)
        for (a, b) in [(17, 25), (0, 10), (11, 11), (30, text.count), (15, 25)] {
            let prompt = try builder.build(prefix: text[..<a], suffix: text[b...])
            var example = fim.example(text, cuts: a, b, mode: mode)
            let (prefixTokens, middleStart) = fim.prefixPiece(text, cut: a)
            #expect(middleStart == a || a == 15, "only a cut after a line's indentation may move the middle's start")
            if mode == .psm {
                let suffixMarker = try #require(prompt.tokens.firstIndex(of: tokenizer.specials.fimSuffix!))
                let kept = Array(prompt.tokens[1..<suffixMarker])
                #expect(prefixTokens.starts(with: kept))
                #expect(tokenizer.decode(Array(prefixTokens[kept.count...])) == prompt.healing)
                example.removeSubrange((1 + kept.count)..<(1 + prefixTokens.count))
            }
            #expect(Array(example.prefix(prompt.tokens.count)) == prompt.tokens)
            let rest = Array(example[prompt.tokens.count...])
            #expect(rest.last == 0)
            switch mode {
            case .spm: #expect(tokenizer.decode(Array(rest.dropLast())) == prompt.healing + Array(text[a..<b]))
            case .psm: #expect(rest == tokenizer.encode(bytes: Array(text[middleStart..<b])) + [0])
            }
        }
    }

    /// A cut after a line's indentation in a vocabulary that writes "\n        return" as "\n       " + " return"
    /// (as SmolLM2's does): the example's prefix ends as the prompt's does, its middle starts with the blank
    /// the prompt heals, and the annotated sources still cover the text byte for byte.
    @Test(arguments: [FIMMode.spm, .psm])
    func aCutAfterIndentationEndsThePrefixAsThePromptDoes(mode: FIMMode) throws {
        let blanks = (1...7).map { "\n" + String(repeating: " ", count: $0) }
        let words = [" a", " r", " re", " ret", " retu", " retur", " return"]
        let tokenizer = try Fixtures.byteVocabulary(merges: blanks + words + Fixtures.codeMerges).makeTokenizer()
        let fim = try FIMTransform(tokenizer: tokenizer)
        let text = Array("def f():\n        return 1\n".utf8)
        let a = 17, b = 25   // before "return", to the line's end
        let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 100, order: mode == .spm ? .spm : .psm)
            .build(prefix: text[..<a], suffix: text[b...])
        let (prefixTokens, middleStart) = fim.prefixPiece(text, cut: a)
        #expect(!prompt.healing.isEmpty && middleStart == a - prompt.healing.count)
        #expect(tokenizer.decode(prefixTokens) + prompt.healing == Array(text[..<a]))
        let example = fim.example(text, cuts: a, b, mode: mode)
        let middle = tokenizer.encode(bytes: Array(text[middleStart..<b]))
        #expect(tokenizer.tokenBytes(middle[0]).first == 0x20)
        switch mode {
        case .spm: #expect(example == prompt.tokens + middle + [tokenizer.specials.endOfText!])
        case .psm: #expect(Array(example.prefix(prompt.tokens.count)) == prompt.tokens)
        }
        let (tokens, sources) = fim.annotatedExample(text, cuts: FIMCuts(first: a, second: b, mode: mode), shard: 0, document: 0, base: 0)
        #expect(tokens == example)
        let covered = sources.compactMap { $0 }.filter { $0.end > $0.start }
        #expect(covered.filter { !$0.isMiddle }.map { $0.end - $0.start }.reduce(0, +) == middleStart)
        #expect(covered.filter(\.isMiddle).first?.start == middleStart)
        #expect(covered.filter(\.isMiddle).last?.end == b)
    }

    @Test func cutsFallOnScalarBoundaries() {
        let text = Array("aé😀b".utf8)
        #expect(FIMTransform.cutPoints(text) == [0, 1, 3, 7, 8])
    }

    @Test func randomExamplesPreserveTheText() {
        var rng = SplitMix64(seed: 4)
        let text = Array("// ünïcödé 😀\nlet x = [1, 2, 3]\nfor v in x { print(v) }\n".utf8)
        var modes: Set<String> = []
        for _ in 0..<200 {
            let example = fim.randomExample(text, spmRate: 0.5, using: &rng)
            #expect(example.first == 1 && example.last == 0)
            let body = Array(example.dropLast())
            let suf = body.firstIndex(of: 3)!, mid = body.firstIndex(of: 2)!
            #expect(body.filter { $0 < 5 }.count == 3)
            let rebuilt: [UInt8]
            if suf == 1 {   // SPM: suffix, then prefix and middle
                modes.insert("spm")
                rebuilt = tokenizer.decode(Array(body[(mid + 1)...])) + tokenizer.decode(Array(body[2..<mid]))
            } else {        // PSM: prefix, suffix, middle
                modes.insert("psm")
                rebuilt = tokenizer.decode(Array(body[1..<suf])) + tokenizer.decode(Array(body[(mid + 1)...]))
                    + tokenizer.decode(Array(body[(suf + 1)..<mid]))
            }
            #expect(rebuilt == text)
            #expect(String(validating: rebuilt, as: UTF8.self) != nil)
        }
        #expect(modes == ["psm", "spm"])
    }

    /// Line-completion cuts: the middle starts on a non-blank line at or after its first non-blank
    /// character, holds a non-blank character, and ends at a line end; the text survives whole.
    @Test func lineExamplesCutAtALineEnd() throws {
        var rng = SplitMix64(seed: 9)
        let text = Array("import Foundation\n\nfunc ünïcode() {\n    let x = [1, 2]\n    \n    return x.count\n}\n".utf8)
        var sawSingleLine = false, sawMultiLine = false
        for _ in 0..<300 {
            let example = try #require(fim.lineExample(text, spmRate: 0, using: &rng))
            let body = Array(example.dropLast())
            let suf = body.firstIndex(of: 3)!, mid = body.firstIndex(of: 2)!
            let prefix = tokenizer.decode(Array(body[1..<suf])), suffix = tokenizer.decode(Array(body[(suf + 1)..<mid]))
            let middle = tokenizer.decode(Array(body[(mid + 1)...]))
            #expect(prefix + middle + suffix == text)
            #expect(suffix.isEmpty || suffix.first == 0x0A)
            #expect(middle.contains { $0 != 0x20 && $0 != 0x0A })
            let lineStart = prefix.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            let typed = Array(prefix[lineStart...])
            #expect((typed + middle).firstIndex { $0 != 0x20 }! <= typed.count)   // cursor at or after the first non-blank
            if middle.contains(0x0A) { sawMultiLine = true } else { sawSingleLine = true }
        }
        #expect(sawSingleLine && sawMultiLine)
        #expect(fim.lineExample(Array(" \n\t\n".utf8), spmRate: 0, using: &rng) == nil)
    }
}
