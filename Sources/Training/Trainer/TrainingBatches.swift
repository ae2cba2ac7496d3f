import Model

/// Where a trainer's batches come from: a pure function of the step, so a resumed run sees exactly the
/// batches an uninterrupted one would have.
public protocol TrainingBatchSource: Sendable {
    /// Inputs and next-token targets ([batch·sequence] each) for the 0-based `step`.
    func batch(step: Int, batch: Int, sequence: Int) -> (inputs: [Int32], targets: [Int32])
}

/// Random training windows of a token stream, a pure function of (seed, step), so resuming at a step
/// reproduces exactly the batches an uninterrupted run would have seen.
public struct TokenWindowSampler: TrainingBatchSource {
    public let tokens: [Int32]
    public let seed: UInt64

    /// Fails when the stream is shorter than one window of `sequence` + 1 tokens.
    public init(tokens: [Int32], seed: UInt64, sequence: Int, source: String = "token stream") throws {
        guard tokens.count > sequence else { throw TrainerError.shardTooShort(path: source, tokens: tokens.count, needed: sequence + 1) }
        self.tokens = tokens
        self.seed = seed
    }

    /// Inputs and next-token targets ([batch·sequence] each) for the 0-based `step`.
    public func batch(step: Int, batch: Int, sequence: Int) -> (inputs: [Int32], targets: [Int32]) {
        var rng = SplitMix64(seed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(batch * sequence)
        targets.reserveCapacity(batch * sequence)
        let starts = UInt64(tokens.count - sequence)
        for _ in 0..<batch {
            let start = Int(rng.next() % starts)
            inputs += tokens[start..<(start + sequence)]
            targets += tokens[(start + 1)..<(start + sequence + 1)]
        }
        return (inputs, targets)
    }
}

/// Corpus shards with the fill-in-the-middle transform: window `step · batch + b` of the loader is row b.
extension WindowLoader: TrainingBatchSource {
    public func batch(step: Int, batch: Int, sequence: Int) -> (inputs: [Int32], targets: [Int32]) {
        precondition(length == sequence + 1, "the loader's windows are \(length) tokens, the model needs \(sequence + 1)")
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(batch * sequence)
        targets.reserveCapacity(batch * sequence)
        for b in 0..<batch {
            let window = self.window(at: step * batch + b)
            inputs += window[0..<sequence]
            targets += window[1...sequence]
        }
        return (inputs, targets)
    }
}
