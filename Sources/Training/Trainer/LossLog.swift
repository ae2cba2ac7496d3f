import Foundation

/// The loss curve of a run: one row per step, kept in memory and written as CSV beside the checkpoints.
public struct LossLog: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var step: Int
        public var loss: Float
        public var learningRate: Float
        public var gradientNorm: Float
        public var tokensPerSecond: Double
        /// Held-out loss when one was measured at this step.
        public var evalLoss: Float?

        public init(step: Int, loss: Float, learningRate: Float, gradientNorm: Float, tokensPerSecond: Double, evalLoss: Float?) {
            self.step = step
            self.loss = loss
            self.learningRate = learningRate
            self.gradientNorm = gradientNorm
            self.tokensPerSecond = tokensPerSecond
            self.evalLoss = evalLoss
        }
    }

    public static let header = "step,loss,lr,grad_norm,tokens_per_s,eval_loss"
    public private(set) var rows: [Row] = []

    public init() {}

    /// Reads a CSV written by `csv`; rows after `upToStep` (from a run that went past the checkpoint) are dropped.
    public init(csv: String, upToStep: Int) {
        for line in csv.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6, let step = Int(f[0]), step <= upToStep, let loss = Float(f[1]), let lr = Float(f[2]),
                  let norm = Float(f[3]), let speed = Double(f[4]) else { continue }
            rows.append(Row(step: step, loss: loss, learningRate: lr, gradientNorm: norm, tokensPerSecond: speed, evalLoss: Float(f[5])))
        }
    }

    public mutating func append(_ row: Row) { rows.append(row) }

    /// The whole log as CSV text.
    public var csv: String {
        var out = Self.header + "\n"
        for r in rows {
            out += "\(r.step),\(r.loss),\(r.learningRate),\(r.gradientNorm),\(String(format: "%.1f", r.tokensPerSecond)),"
            out += (r.evalLoss.map { "\($0)" } ?? "") + "\n"
        }
        return out
    }
}
