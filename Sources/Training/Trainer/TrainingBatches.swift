import Model

/// Where a trainer's batches come from: a pure function of the step, so a resumed run sees exactly the
/// batches an uninterrupted one would have, and each rank of a data-parallel job can read its own rows
/// of a step's batch without the others.
public protocol TrainingBatchSource: Sendable {
    /// Inputs and next-token targets ([rows.count·sequence] each) of rows `rows` of the 0-based `step`'s
    /// batch of `batch` sequences.
    func batch(step: Int, batch: Int, rows: Range<Int>, sequence: Int) -> (inputs: [Int32], targets: [Int32])
}

extension TrainingBatchSource {
    /// Inputs and next-token targets ([batch·sequence] each) of the whole batch of the 0-based `step`.
    public func batch(step: Int, batch: Int, sequence: Int) -> (inputs: [Int32], targets: [Int32]) {
        self.batch(step: step, batch: batch, rows: 0..<batch, sequence: sequence)
    }
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

    /// Rows `rows` of the 0-based `step`'s batch: inputs and next-token targets ([rows.count·sequence] each).
    public func batch(step: Int, batch: Int, rows: Range<Int>, sequence: Int) -> (inputs: [Int32], targets: [Int32]) {
        var rng = SplitMix64(seed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(rows.count * sequence)
        targets.reserveCapacity(rows.count * sequence)
        let starts = UInt64(tokens.count - sequence)
        // The generator runs through the rows before ours too, so a row's window does not depend on who reads it.
        for row in 0..<rows.upperBound {
            let start = Int(rng.next() % starts)
            guard rows.contains(row) else { continue }
            inputs += tokens[start..<(start + sequence)]
            targets += tokens[(start + 1)..<(start + sequence + 1)]
        }
        return (inputs, targets)
    }
}

/// Corpus shards with the fill-in-the-middle transform: window `step · batch + b` of the loader is row b
/// (only the requested rows' windows are read).
extension WindowLoader: TrainingBatchSource {
    public func batch(step: Int, batch: Int, rows: Range<Int>, sequence: Int) -> (inputs: [Int32], targets: [Int32]) {
        precondition(length == sequence + 1, "the loader's windows are \(length) tokens, the model needs \(sequence + 1)")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= batch, "rows \(rows) of a batch of \(batch)")
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(rows.count * sequence)
        targets.reserveCapacity(rows.count * sequence)
        for b in rows {
            let window = self.window(at: step * batch + b)
            inputs += window[0..<sequence]
            targets += window[1...sequence]
        }
        return (inputs, targets)
    }
}
