import Foundation
import TestFixtures
import Testing
@testable import Model

/// A line's log-probability against a plain computation from the reference transformer's logits.
@Test func lineLogProbabilityMatchesTheReference() throws {
    let (model, weights) = try Fixtures.randomModel()
    let tokenizer = model.tokenizer
    let prompt = try FIMPromptBuilder(tokenizer: tokenizer, budget: 60)
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

/// With cache weight 0 the model's likeliest line wins, the greedy one on a tie; candidates equal to it
/// are not scored twice.
@Test func mostLikelyLineAloneTakesTheModelsHighestScore() throws {
    let (model, _) = try Fixtures.randomModel()
    let prompt = try FIMPromptBuilder(tokenizer: model.tokenizer, budget: 60)
        .build(prefix: Array("let a = ".utf8), suffix: [])
    let context = InferenceContext(model: model, threads: 1)
    let lines = ["1", "b + c", "return", "x.y(z)"].map { Array($0.utf8) }
    let scores = try lines.map { try context.lineLogProbability(of: $0, after: prompt) }
    let best = scores.indices.max { scores[$0] < scores[$1] }!
    for greedy in lines.indices {
        let others = lines.indices.filter { $0 != greedy }
        let candidates = (others + [greedy]).map { LineCandidate(bytes: lines[$0], share: 0.25) }
        let chosen = try context.mostLikelyLine(greedy: lines[greedy], candidates: candidates, fileWeight: 0, after: prompt)
        #expect(chosen.bytes == lines[best])
        #expect(chosen.candidate == (best == greedy ? nil : others.firstIndex(of: best)))
    }
    // A line too long for the context scores -infinity.
    #expect(try context.lineLogProbability(of: Array(repeating: 0x61, count: 4 * context.contextSize), after: prompt) == -.infinity)
}

/// The mixture: (1 − w) · P_model + w · share, computed here by hand for every weight.
@Test func mostLikelyLineMixesTheModelWithTheFilesShares() throws {
    let (model, _) = try Fixtures.randomModel()
    let prompt = try FIMPromptBuilder(tokenizer: model.tokenizer, budget: 60)
        .build(prefix: Array("let a = ".utf8), suffix: [])
    let context = InferenceContext(model: model, threads: 1)
    let greedy = Array("1".utf8)
    let candidates = [LineCandidate(bytes: Array("b + c".utf8), share: 0.7), LineCandidate(bytes: Array("x.y(z)".utf8), share: 0.2),
                      LineCandidate(bytes: greedy, share: 0.1)]
    let model0 = try exp(context.lineLogProbability(of: greedy, after: prompt))
    let models = try candidates.map { try exp(context.lineLogProbability(of: $0.bytes, after: prompt)) }
    for weight in [0.0, 0.01, 0.3, 0.5, 0.9, 1.0] {
        let mixed = zip(models, candidates).map { (1 - weight) * $0 + weight * $1.share }
        let greedyMixed = (1 - weight) * model0 + weight * 0.1
        let top = mixed[0...1].max()!
        let chosen = try context.mostLikelyLine(greedy: greedy, candidates: candidates, fileWeight: weight, after: prompt)
        if top > greedyMixed * (1 + 1e-9) {
            #expect(chosen.candidate == mixed.firstIndex(of: top))
        } else if top < greedyMixed * (1 - 1e-9) {
            #expect(chosen.candidate == nil && chosen.bytes == greedy)
        }
    }
    // Weight 1 is the file alone: the most frequent continuation.
    #expect(try context.mostLikelyLine(greedy: greedy, candidates: candidates, fileWeight: 1, after: prompt).candidate == 0)
}
