import Foundation
import Model

/// Negative log2-likelihood of texts under a model, to report bits per UTF-8 byte.
///
/// A text is tokenized whole and preceded by end-of-text (as documents are in training), so its first
/// token is predicted too and every byte is covered. Texts longer than the window are scored with
/// overlapping windows: each window after the first re-reads `window − stride` tokens of context and
/// scores only its last `stride` tokens, so every token is scored once with at least that much context.
public struct BitsPerByteMeter {
    public let context: InferenceContext
    /// Tokens per evaluated window (at most the context size).
    public let window: Int
    /// New tokens scored per window after the first.
    public let stride: Int

    /// Totals over the texts measured so far.
    public private(set) var bits = 0.0
    public private(set) var bytes = 0
    public private(set) var tokens = 0

    public init(context: InferenceContext, window: Int? = nil, stride: Int? = nil) {
        self.context = context
        self.window = max(2, min(window ?? context.contextSize, context.contextSize))
        self.stride = max(1, min(stride ?? self.window / 2, self.window - 1))
    }

    /// Total bits divided by total bytes.
    public var bitsPerByte: Double { bytes == 0 ? 0 : bits / Double(bytes) }

    /// Scores one text and adds it to the totals; returns its own (bits, bytes).
    @discardableResult
    public mutating func measure(_ text: [UInt8]) throws -> (bits: Double, bytes: Int) {
        let tokenizer = context.model.tokenizer
        var sequence = tokenizer.encode(bytes: text)
        // Without an end-of-text token the first token has nothing to be predicted from and is not scored.
        if let eot = tokenizer.specials.endOfText { sequence.insert(eot, at: 0) }
        let firstScored = 1
        var textBits = 0.0, textBytes = 0
        var scoredUpTo = firstScored
        while scoredUpTo < sequence.count {
            let end = scoredUpTo == firstScored ? min(sequence.count, window) : min(sequence.count, scoredUpTo + stride)
            let begin = max(0, end - window)
            context.reset()
            let rows = try context.appendReturningAllLogits(Array(sequence[begin..<end]))
            for target in scoredUpTo..<end {
                textBits += Self.negativeLog2Probability(rows[target - 1 - begin], of: sequence[target])
                textBytes += tokenizer.tokenBytes(sequence[target]).count
            }
            tokens += end - scoredUpTo
            scoredUpTo = end
        }
        bits += textBits
        bytes += textBytes
        return (textBits, textBytes)
    }

    /// −log2 softmax(logits)[token], in double precision.
    public static func negativeLog2Probability(_ logits: [Float], of token: Int32) -> Double {
        var maximum = -Double.infinity
        for l in logits { maximum = max(maximum, Double(l)) }
        var sum = 0.0
        for l in logits { sum += Foundation.exp(Double(l) - maximum) }
        let logProbability = Double(logits[Int(token)]) - maximum - Foundation.log(sum)
        return -logProbability / M_LN2
    }
}
