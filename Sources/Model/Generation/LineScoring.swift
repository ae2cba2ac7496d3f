import Foundation

/// Choosing a line with the model and the file together.
///
/// Greedy decoding takes the likeliest token at each step, which is not always the likeliest line; and a
/// small model copies poorly from the file even when the prompt shows it `XCTAssertEqual(html, """` ten
/// times. So the line is chosen as a cache language model would choose it (Kuhn & De Mori 1990; Grave
/// et al. 2017, "neural cache"): the probability of a line is a mixture of the model's probability of the
/// whole line, ending included, and the share of the file's related lines (`RelatedLines`) that continue
/// that way, weighted by `fileWeight`. The candidates are the greedy line and the file's continuations.
/// Weight 0 is the model alone: it picks the line the model finds likeliest.
extension InferenceContext {
    /// The natural-log probability that the model writes `text` after `prompt` (after the prompt's
    /// token-healing bytes) and then ends the line: a token that starts with a newline, or end-of-text.
    /// `-infinity` when the line does not fit the context.
    public func lineLogProbability(of text: [UInt8], after prompt: FIMPrompt) throws -> Double {
        let promptLogits = try evaluate(prompt: prompt.tokens)
        return try lineLogProbability(of: text, after: prompt, promptLogits: promptLogits,
                                      lineEnding: Self.lineEndingTokens(model.tokenizer))
    }

    /// The same, with the cache holding exactly `prompt` and the logits after it given, so several lines
    /// are scored against one evaluation of the prompt; the cache holds `prompt` again afterwards.
    private func lineLogProbability(of text: [UInt8], after prompt: FIMPrompt, promptLogits: [Float],
                                    lineEnding: [Bool]) throws -> Double {
        let tokens = model.tokenizer.encode(bytes: prompt.healing + text)
        guard prompt.tokens.count + tokens.count <= contextSize else { return -.infinity }
        defer { truncate(to: prompt.tokens.count) }
        let rows = tokens.isEmpty ? [] : try appendReturningAllLogits(tokens)
        var logits = promptLogits
        var total = 0.0
        for (i, token) in tokens.enumerated() {
            total += Self.logSoftmax(logits, at: Int(token))
            logits = rows[i]
        }
        return total + Self.logEndOfLineProbability(logits, lineEnding: lineEnding)
    }

    /// Of `greedy` (what generation wrote) and `candidates`, the line with the highest mixture
    /// probability (1 − fileWeight) · P_model(line) + fileWeight · share(line), and its index in
    /// `candidates` (nil: the greedy line). Ties keep the greedy line.
    public func mostLikelyLine(greedy: [UInt8], candidates: [LineCandidate], fileWeight: Double = LineCandidate.fileWeight,
                               after prompt: FIMPrompt) throws -> (bytes: [UInt8], candidate: Int?) {
        precondition((0...1).contains(fileWeight), "fileWeight outside 0...1")
        let promptLogits = try evaluate(prompt: prompt.tokens)
        let lineEnding = Self.lineEndingTokens(model.tokenizer)
        func score(_ line: [UInt8], share: Double) throws -> Double {
            let model = try lineLogProbability(of: line, after: prompt, promptLogits: promptLogits, lineEnding: lineEnding)
            let a = log1p(-fileWeight) + model, b = log(fileWeight * share)
            let top = max(a, b)
            return top == -.infinity ? -.infinity : top + log(exp(a - top) + exp(b - top))
        }
        let greedyShare = candidates.first { $0.bytes == greedy }?.share ?? 0
        var best = (bytes: greedy, candidate: Int?.none)
        var bestScore = try score(greedy, share: greedyShare)
        for (index, candidate) in candidates.enumerated() where candidate.bytes != greedy {
            let candidateScore = try score(candidate.bytes, share: candidate.share)
            if candidateScore > bestScore { (best, bestScore) = ((candidate.bytes, index), candidateScore) }
        }
        return best
    }

    /// The text of the line to show for a single-line `generation`: its own, or the candidate
    /// `mostLikelyLine` prefers (its own when there are no candidates).
    public func chosenLine(_ generation: Generation, candidates: [LineCandidate], fileWeight: Double = LineCandidate.fileWeight,
                           after prompt: FIMPrompt) throws -> String {
        guard !candidates.isEmpty else { return generation.text }
        let best = try mostLikelyLine(greedy: generation.bytes, candidates: candidates, fileWeight: fileWeight, after: prompt)
        return best.candidate == nil ? generation.text : String(decoding: best.bytes, as: UTF8.self)
    }

    static func logSoftmax(_ logits: [Float], at index: Int) -> Double {
        let top = logits.max() ?? 0
        var sum = 0.0
        for value in logits { sum += exp(Double(value - top)) }
        return Double(logits[index] - top) - log(sum)
    }

    /// Which tokens end a line: control tokens and those whose bytes start with "\n" or "\r\n".
    static func lineEndingTokens(_ tokenizer: BPETokenizer) -> [Bool] {
        (0..<tokenizer.vocabularySize).map { id in
            let token = Int32(id), bytes = tokenizer.tokenBytes(token)
            return tokenizer.isControl(token) || bytes.first == 0x0A || (bytes.count > 1 && bytes[0] == 0x0D && bytes[1] == 0x0A)
        }
    }

    /// Log of the probability mass on the tokens `lineEnding` marks.
    static func logEndOfLineProbability(_ logits: [Float], lineEnding: [Bool]) -> Double {
        let top = logits.max() ?? 0
        var all = 0.0, ending = 0.0
        for (id, value) in logits.enumerated() {
            let p = exp(Double(value - top))
            all += p
            if id < lineEnding.count && lineEnding[id] { ending += p }
        }
        return log(ending) - log(all)
    }
}
