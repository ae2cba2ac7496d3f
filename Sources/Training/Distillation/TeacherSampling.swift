import Foundation
import Model

/// A token drawn `count` times from a teacher distribution.
public struct SampledToken: Sendable, Equatable {
    public var token: Int32
    public var count: UInt16

    public init(token: Int32, count: UInt16) {
        self.token = token
        self.count = count
    }
}

/// Sparse teacher targets made by sampling: K tokens drawn with replacement from softmax(z / T).
///
/// count/K is an unbiased estimate of every token's probability, and since the gradient of the KL term
/// α·T·(softmax(z/T) − p) is linear in p, training on the sampled p gives an unbiased gradient too.
/// Plain top-k would drop the tail and inflate the head after renormalising, a biased target.
public enum TeacherSampling {
    /// Draws `samples` tokens from softmax(`logits` / `temperature`) over `count` tokens with `rng`;
    /// returns each drawn token once, in token order, with how often it was drawn. `weights` is scratch
    /// for `count` floats.
    public static func sample(logits: UnsafePointer<Float>, count: Int, temperature: Float, samples: Int,
                              rng: inout SplitMix64, weights: UnsafeMutablePointer<Float>) -> [SampledToken] {
        precondition(count > 0 && samples > 0 && temperature > 0)
        let inverse = 1 / temperature
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, logits[i] * inverse) }
        var total: Double = 0
        for i in 0..<count {
            let w = expf(logits[i] * inverse - maximum)
            weights[i] = w
            total += Double(w)
        }
        // Sorted uniforms let one pass over the cumulative weights place every draw.
        var draws = (0..<samples).map { _ in Double(rng.next() >> 11) * 0x1p-53 * total }
        draws.sort()
        var result: [SampledToken] = []
        var cumulative: Double = 0
        var token = 0, lastPositive = 0
        for u in draws {
            while token < count && cumulative + Double(weights[token]) <= u {
                cumulative += Double(weights[token])
                if weights[token] > 0 { lastPositive = token }
                token += 1
            }
            // Rounding can push a draw past the last token; it belongs to the last token with weight.
            let chosen = token < count ? token : lastPositive
            if let last = result.last, last.token == Int32(chosen) {
                result[result.count - 1].count += 1
            } else {
                result.append(SampledToken(token: Int32(chosen), count: 1))
            }
        }
        return result
    }

    /// The sampled tokens as probabilities count / samples, the form `TeacherTargets.sparse` takes.
    public static func probabilities(_ sampled: [SampledToken], samples: Int) -> [TeacherProbability] {
        let scale = 1 / Float(samples)
        return sampled.map { TeacherProbability(token: $0.token, probability: Float($0.count) * scale) }
    }

    /// The generator for one position of one step: a pure function of (seed, step, position), so the
    /// samples do not depend on thread scheduling and a recomputed step draws the same tokens.
    public static func generator(seed: UInt64, step: Int, position: Int) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: step) &* 0xA24B_AED4_963E_E407))
        return SplitMix64(seed: mixer.next() ^ (UInt64(truncatingIfNeeded: position) &* 0x9FB2_1C65_1E98_DF25))
    }
}
