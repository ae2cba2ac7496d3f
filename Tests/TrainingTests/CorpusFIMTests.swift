import Model
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
    /// the start of the middle). Not yet for a cut right after a line's indentation: there the prompt
    /// ends as code is cut (`FIMPromptBuilder.splittingIndentationAsText`, since session 13) while a
    /// training example still tokenizes its prefix alone; the next training run should cut alike.
    @Test(arguments: [(FIMOrder.psm, FIMMode.psm), (.spm, .spm)])
    func trainingExamplesMatchTheLanguageServersPromptBuilder(order: FIMOrder, mode: FIMMode) throws {
        let text = Array("func f() {\n    let a = 1\n    return a\n}\n".utf8)
        let builder = FIMPromptBuilder(tokenizer: tokenizer, budget: 512, order: order)
        for (a, b) in [(17, 25), (0, 10), (11, 11), (30, text.count)] {
            let prompt = try builder.build(prefix: text[..<a], suffix: text[b...])
            var example = fim.example(text, cuts: a, b, mode: mode)
            if mode == .psm {
                let suffixMarker = try #require(prompt.tokens.firstIndex(of: tokenizer.specials.fimSuffix!))
                let kept = Array(prompt.tokens[1..<suffixMarker])
                let prefixTokens = tokenizer.encode(bytes: Array(text[..<a]))
                #expect(prefixTokens.starts(with: kept))
                #expect(tokenizer.decode(Array(prefixTokens[kept.count...])) == prompt.healing)
                example.removeSubrange((1 + kept.count)..<(1 + prefixTokens.count))
            }
            #expect(Array(example.prefix(prompt.tokens.count)) == prompt.tokens)
            let rest = Array(example[prompt.tokens.count...])
            #expect(rest.last == 0)
            switch mode {
            case .spm: #expect(tokenizer.decode(Array(rest.dropLast())) == prompt.healing + Array(text[a..<b]))
            case .psm: #expect(rest == tokenizer.encode(bytes: Array(text[a..<b])) + [0])
            }
        }
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
