/// How the next token is chosen from the logits.
public struct SamplingSettings: Sendable, Equatable {
    /// 0 means greedy (argmax).
    public var temperature: Float
    /// Keep only the k most likely tokens (0 keeps all).
    public var topK: Int
    /// Keep the smallest set of tokens whose probability reaches p (1 keeps all).
    public var topP: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 40, topP: Float = 0.95, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingSettings()
}

/// SplitMix64: a small, fast, seedable generator, so sampled completions are reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Picks tokens from logits: greedy, or temperature with top-k and top-p, seeded.
public struct Sampler: Sendable {
    public let settings: SamplingSettings
    private var rng: SplitMix64

    public init(_ settings: SamplingSettings) {
        self.settings = settings
        rng = SplitMix64(seed: settings.seed)
    }

    /// Index of the largest logit (the lowest index on ties).
    public static func argmax(_ logits: [Float]) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return Int32(best)
    }

    /// Chooses the next token.
    public mutating func sample(_ logits: [Float]) -> Int32 {
        guard settings.temperature > 0 else { return Self.argmax(logits) }
        var candidates = logits.indices.map { (id: $0, logit: logits[$0]) }
        candidates.sort { $0.logit > $1.logit }
        if settings.topK > 0 && settings.topK < candidates.count {
            candidates.removeSubrange(settings.topK...)
        }
        let maxLogit = candidates[0].logit
        var probabilities = candidates.map { expf(($0.logit - maxLogit) / settings.temperature) }
        let total = probabilities.reduce(0, +)
        var kept = probabilities.count
        if settings.topP < 1 {
            var cumulative: Float = 0
            for (i, p) in probabilities.enumerated() {
                cumulative += p / total
                if cumulative >= settings.topP { kept = i + 1; break }
            }
        }
        probabilities.removeSubrange(kept...)
        let keptTotal = probabilities.reduce(0, +)
        var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * keptTotal
        for (i, p) in probabilities.enumerated() {
            r -= p
            if r <= 0 { return Int32(candidates[i].id) }
        }
        return Int32(candidates[kept - 1].id)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
