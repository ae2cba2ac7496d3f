import Foundation
import Kernels

/// Learning rate: linear warmup from 0 to `peak` over `warmupSteps`, then cosine decay to `floor` at `totalSteps`.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public var peak: Float
    public var floor: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, floor: Float, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The rate of the 0-based `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return floor + (peak - floor) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}

/// AdamW with decoupled weight decay on matrices only, and global-norm gradient clipping.
public final class AdamW: @unchecked Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    /// Gradients whose global L2 norm exceeds this are scaled down to it (≤ 0 disables clipping).
    public var maxGradientNorm: Float
    /// First and second moments, in the model's parameter layout.
    public let m: UnsafeMutablePointer<Float>
    public let v: UnsafeMutablePointer<Float>
    /// Updates done so far (the bias correction's t).
    public var stepCount = 0
    public let count: Int
    private let decayMask: [Bool]
    private let entries: [ParameterLayout.Entry]

    public init(layout: ParameterLayout, weightDecay: Float = 0.1, maxGradientNorm: Float = 1) {
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
        count = layout.totalCount
        entries = layout.entries
        decayMask = layout.entries.map(\.isMatrix)
        m = .allocate(capacity: count)
        m.initialize(repeating: 0, count: count)
        v = .allocate(capacity: count)
        v.initialize(repeating: 0, count: count)
    }

    deinit {
        m.deallocate()
        v.deallocate()
    }

    /// The L2 norm of all gradients, accumulated in Double.
    public static func globalNorm(_ gradients: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Double = 0
        for i in 0..<count { sum += Double(gradients[i]) * Double(gradients[i]) }
        return Float(sum.squareRoot())
    }

    /// Clips, then updates `parameters` in place from `gradients` at learning rate `lr`; returns the norm before clipping.
    @discardableResult
    public func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Float, pool: ThreadPool) -> Float {
        let norm = Self.globalNorm(gradients, count: count)
        let clip = maxGradientNorm > 0 && norm > maxGradientNorm ? maxGradientNorm / norm : 1
        stepCount += 1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let correction1 = 1 - pow(b1, Float(stepCount)), correction2 = 1 - pow(b2, Float(stepCount))
        let m = self.m, v = self.v
        for (entry, decays) in zip(entries, decayMask) {
            let decay = decays ? weightDecay : 0
            let base = entry.offset
            pool.parallelFor(entry.count) { range, _ in
                for j in range {
                    let i = base + j
                    let g = gradients[i] * clip
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let mHat = m[i] / correction1, vHat = v[i] / correction2
                    parameters[i] -= lr * (mHat / (vHat.squareRoot() + eps) + decay * parameters[i])
                }
            }
        }
        return norm
    }
}
