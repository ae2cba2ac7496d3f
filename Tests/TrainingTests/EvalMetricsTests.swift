import Testing
@testable import Training

struct EvalMetricsTests {
    @Test func levenshteinHandCases() {
        #expect(CompletionMetrics.levenshtein(Array("kitten"), Array("sitting")) == 3)
        #expect(CompletionMetrics.levenshtein(Array(""), Array("abc")) == 3)
        #expect(CompletionMetrics.levenshtein(Array("abc"), Array("")) == 3)
        #expect(CompletionMetrics.levenshtein(Array("flaw"), Array("lawn")) == 2)
        #expect(CompletionMetrics.levenshtein(Array("same"), Array("same")) == 0)
        // Characters, not bytes: "é" is one edit away from "e".
        #expect(CompletionMetrics.levenshtein(Array("café"), Array("cafe")) == 1)
    }

    @Test func editSimilarityAndExactMatch() {
        #expect(CompletionMetrics.editSimilarity("kitten", "sitting") == 1 - 3.0 / 7)
        #expect(CompletionMetrics.editSimilarity("", "") == 1)
        #expect(CompletionMetrics.editSimilarity("", "x)") == 0)
        #expect(CompletionMetrics.editSimilarity("return x  ", "return x") == 1)
        #expect(CompletionMetrics.exactMatch("foo(bar) \t", "foo(bar)\r"))
        #expect(!CompletionMetrics.exactMatch(" foo", "foo"))
        #expect(CompletionMetrics.trimmingTrailingWhitespace("a b \t\r") == "a b")
    }

    @Test func nearestRankPercentiles() {
        let values = (1...20).map(Double.init)
        #expect(CompletionMetrics.percentile(values, 0.5) == 10)
        #expect(CompletionMetrics.percentile(values, 0.95) == 19)
        #expect(CompletionMetrics.percentile([7], 0.95) == 7)
        #expect(CompletionMetrics.percentile([], 0.5) == 0)
    }

    @Test func completionPositionsFollowTheRules() {
        let files = [Array("func f() {\n    let x = 1\n\n    return x  \n}\n".utf8), Array("\r\n  \n  a = ébc\r\n".utf8)]
        let tasks = CompletionTask.sample(files: files, count: 40, seed: 9)
        #expect(tasks == CompletionTask.sample(files: files, count: 40, seed: 9))
        #expect(CompletionTask.sample(files: files, count: 10, seed: 9) != CompletionTask.sample(files: files, count: 10, seed: 10))
        #expect(Set(tasks.map { [$0.file, $0.cursor] }).count == tasks.count)
        #expect(tasks == tasks.sorted { ($0.file, $0.cursor) < ($1.file, $1.cursor) })
        for task in tasks {
            let bytes = files[task.file]
            let line = String(decoding: bytes[task.lineStart..<task.lineEnd], as: UTF8.self)
            #expect(!line.contains("\n") && !line.contains("\r"))
            let typed = String(decoding: bytes[task.lineStart..<task.cursor], as: UTF8.self)
            #expect(typed + task.target == line)
            #expect(!CompletionMetrics.trimmingTrailingWhitespace(task.target).isEmpty)
            #expect(task.target.first.map { !$0.isWhitespace || typed.contains(where: { !$0.isWhitespace }) } == true)
            #expect(task.lineStart == 0 || bytes[task.lineStart - 1] == 0x0A)
        }
        // 10 + 9 + 8 + 1 + 7 columns exist in total; asking for 40 finds every one of them once.
        #expect(tasks.count == 35)
        #expect(tasks.contains { $0.target == "ébc" })
    }

    @Test func frequentContinuationBaseline() {
        let file = Array("import A\nx = foo(1)\n  x = foo(2)\nx = foo(2)\ny = bar()\n}\n}\n}\n}\n".utf8)
        func task(line: Int, column: Int) -> CompletionTask {
            let lines = String(decoding: file, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let start = lines[..<line].reduce(0) { $0 + $1.utf8.count + 1 }
            let text = String(lines[line])
            return CompletionTask(file: 0, lineStart: start, cursor: start + column, lineEnd: start + text.utf8.count,
                                  target: String(text.dropFirst(column)))
        }
        // No other line starts with "y ".
        #expect(FrequentContinuation.complete(task(line: 4, column: 2), in: file) == "")
        // The target line itself is left out; leading indentation of other lines is ignored.
        #expect(FrequentContinuation.complete(task(line: 1, column: 4), in: file) == "foo(2)")
        // "foo(1)" and "foo(2)" occur once each elsewhere: the first in the file wins.
        #expect(FrequentContinuation.complete(task(line: 3, column: 4), in: file) == "foo(1)")
        #expect(FrequentContinuation.complete(task(line: 3, column: 8), in: file) == "1)")
        // Indented typed text is compared without its indentation.
        #expect(FrequentContinuation.complete(task(line: 2, column: 6), in: file) == "foo(1)")
        // Nothing typed: the most frequent other line.
        #expect(FrequentContinuation.complete(task(line: 5, column: 0), in: file) == "}")
    }
}
