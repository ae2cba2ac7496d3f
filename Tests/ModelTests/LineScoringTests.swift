import Foundation
import Testing
@testable import Model

/// A line's log-probability against a plain computation from the reference transformer's logits.
@Test func lineLogProbabilityMatchesTheReference() throws {
    let (model, weights) = try ModelFixtures.model()
    let tokenizer = model.tokenizer
    let prompt = try FIMPromptBuilder(tokenizer: tokenizer, maxTokens: 60)
        .build(prefix: Array("func f() {\n    ret".utf8), suffix: Array("\n}\n".utf8))
    let text = Array("urn x + 1".utf8)
    let context = InferenceContext(model: model, threads: 1)
    let got = try context.lineLogProbability(of: text, after: prompt)

    let line = tokenizer.encode(bytes: prompt.healing + text)
    let logits = ReferenceTransformer(c: model.config, tensor: weights.tensor).logits(prompt.tokens + line)
    func logSoftmax(_ row: [Float]) -> [Double] {
        let top = Double(row.max()!)
        let sum = row.reduce(0.0) { $0 + exp(Double($1) - top) }
        return row.map { Double($0) - top - log(sum) }
    }
    var expected = 0.0
    for (i, token) in line.enumerated() { expected += logSoftmax(logits[prompt.tokens.count - 1 + i])[Int(token)] }
    let last = logSoftmax(logits[prompt.tokens.count - 1 + line.count])
    var ending = 0.0
    for id in last.indices {
        let bytes = tokenizer.tokenBytes(Int32(id))
        if tokenizer.isControl(Int32(id)) || bytes.first == 0x0A || bytes.starts(with: [0x0D, 0x0A]) { ending += exp(last[id]) }
    }
    expected += log(ending)
    #expect(abs(got - expected) < 1e-3 * abs(expected))
}

/// The likeliest line wins, the greedy one on a tie; candidates equal to it are not scored twice.
@Test func mostLikelyLineTakesTheHighestScore() throws {
    let (model, _) = try ModelFixtures.model()
    let prompt = try FIMPromptBuilder(tokenizer: model.tokenizer, maxTokens: 60)
        .build(prefix: Array("let a = ".utf8), suffix: [])
    let context = InferenceContext(model: model, threads: 1)
    let lines = ["1", "b + c", "return", "x.y(z)"].map { Array($0.utf8) }
    let scores = try lines.map { try context.lineLogProbability(of: $0, after: prompt) }
    let best = scores.indices.max { scores[$0] < scores[$1] }!
    for greedy in lines.indices {
        let others = lines.indices.filter { $0 != greedy }
        let chosen = try context.mostLikelyLine(greedy: lines[greedy], candidates: others.map { lines[$0] } + [lines[greedy]], after: prompt)
        #expect(chosen.bytes == lines[best])
        #expect(chosen.candidate == (best == greedy ? nil : others.firstIndex(of: best)))
    }
    // A line too long for the context scores -infinity.
    #expect(try context.lineLogProbability(of: Array(repeating: 0x61, count: 4 * context.contextSize), after: prompt) == -.infinity)
}
