import Foundation

/// Choosing a line by the model's likelihood.
///
/// Greedy decoding takes the likeliest token at each step, which is not always the likeliest line: a
/// small model may rate `XCTAssertEqual(html, """` (copied from ten lines of the same file) above what
/// it wrote itself, yet never reach it one token at a time. Candidate lines (from `RelatedLines`) are
/// scored as whole lines, ending included, and the likeliest line wins, the greedy one among them.
extension InferenceContext {
    /// The natural-log probability that the model writes `text` after `prompt` (after the prompt's
    /// token-healing bytes) and then ends the line: a token that starts with a newline, or end-of-text.
    /// `-infinity` when the line does not fit the context.
    public func lineLogProbability(of text: [UInt8], after prompt: FIMPrompt) throws -> Double {
        let tokens = model.tokenizer.encode(bytes: prompt.healing + text)
        guard prompt.tokens.count + tokens.count <= contextSize else { return -.infinity }
        var logits = try evaluate(prompt: prompt.tokens)
        let rows = tokens.isEmpty ? [] : try appendReturningAllLogits(tokens)
        var total = 0.0
        for (i, token) in tokens.enumerated() {
            total += Self.logSoftmax(logits, at: Int(token))
            logits = rows[i]
        }
        return total + Self.logEndOfLineProbability(logits, tokenizer: model.tokenizer)
    }

    /// Of `greedy` (what generation wrote) and `candidates`, the line the model finds likeliest after
    /// `prompt`, and its index in `candidates` (nil: the greedy line). Ties keep the greedy line.
    public func mostLikelyLine(greedy: [UInt8], candidates: [[UInt8]], after prompt: FIMPrompt) throws
        -> (bytes: [UInt8], candidate: Int?) {
        var best = (bytes: greedy, candidate: Int?.none)
        var bestScore = try lineLogProbability(of: greedy, after: prompt)
        for (index, candidate) in candidates.enumerated() where candidate != greedy {
            let score = try lineLogProbability(of: candidate, after: prompt)
            if score > bestScore { (best, bestScore) = ((candidate, index), score) }
        }
        return best
    }

    static func logSoftmax(_ logits: [Float], at index: Int) -> Double {
        let top = logits.max() ?? 0
        var sum = 0.0
        for value in logits { sum += exp(Double(value - top)) }
        return Double(logits[index] - top) - log(sum)
    }

    /// Log of the probability mass on tokens that end a line: control tokens and those whose bytes
    /// start with "\n" or "\r\n".
    static func logEndOfLineProbability(_ logits: [Float], tokenizer: BPETokenizer) -> Double {
        let top = logits.max() ?? 0
        var all = 0.0, ending = 0.0
        for (id, value) in logits.enumerated() {
            let p = exp(Double(value - top))
            all += p
            let token = Int32(id)
            if tokenizer.isControl(token) { ending += p; continue }
            let bytes = tokenizer.tokenBytes(token)
            if bytes.first == 0x0A || (bytes.count > 1 && bytes[0] == 0x0D && bytes[1] == 0x0A) { ending += p }
        }
        return log(ending) - log(all)
    }
}
