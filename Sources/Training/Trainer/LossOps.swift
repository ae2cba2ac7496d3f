import Foundation
import Kernels

/// One (token, probability) pair of a sparse teacher distribution.
public struct TeacherProbability: Sendable, Equatable {
    public var token: Int32
    public var probability: Float
    public init(token: Int32, probability: Float) {
        self.token = token
        self.probability = probability
    }
}

/// The teacher's distribution at every position of a batch, for distillation.
public enum TeacherTargets: Sendable {
    /// Full teacher logits [B·T][V]; the teacher distribution is softmax(logits / temperature).
    case logits([Float])
    /// Per position, teacher probabilities for some tokens (already at the distillation temperature, e.g.
    /// counts of tokens sampled from the teacher over the number of samples); they are renormalised to
    /// sum to 1 and every other token counts as probability 0.
    case sparse([[TeacherProbability]])
}

/// The weights of the distillation loss α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE.
public struct DistillationSettings: Sendable, Equatable {
    public var alpha: Float
    public var temperature: Float
    public init(alpha: Float, temperature: Float) {
        self.alpha = alpha
        self.temperature = temperature
    }
}

/// log Σ exp(x[i] · scale) over `count` floats, stable.
private func logSumExp(_ x: UnsafePointer<Float>, count: Int, scale: Float) -> Float {
    var m = -Float.infinity
    for i in 0..<count { m = max(m, x[i] * scale) }
    var sum: Float = 0
    for i in 0..<count { sum += exp(x[i] * scale - m) }
    return m + log(sum)
}

/// Cross-entropy −log softmax(logits)[target] of one row; replaces the row with its gradient
/// softmax(logits) − onehot(target).
public func crossEntropyRow(_ logits: UnsafeMutablePointer<Float>, count: Int, target: Int) -> Float {
    var m = -Float.infinity
    for i in 0..<count { m = max(m, logits[i]) }
    let gap = m - logits[target]
    softmax(logits, count: count)   // the SIMD kernel: exp dominates this op
    let p = logits[target]
    logits[target] -= 1
    // When p underflows the target is ~88 nats below the maximum; the gap is then the loss to within log(count).
    return p > 1e-30 ? -log(p) : gap
}

/// The distillation loss of one row (student `logits`, hard `target`, teacher row given either as
/// `teacherLogits` or as `sparse` probabilities); replaces `logits` with the gradient of the loss.
///
/// d/dz [α·T²·KL(p ‖ softmax(z/T))] = α·T·(softmax(z/T) − p), and CE's gradient is softmax(z) − onehot.
public func distillationRow(_ logits: UnsafeMutablePointer<Float>, count: Int, target: Int,
                            teacherLogits: UnsafePointer<Float>?, sparse: [TeacherProbability],
                            settings: DistillationSettings, scratch: UnsafeMutablePointer<Float>) -> Float {
    let temperature = settings.temperature, alpha = settings.alpha, invT = 1 / temperature
    // scratch = teacher distribution p; a position without any teacher probability has no KL term.
    var hasTeacher = true
    if let teacherLogits {
        let lse = logSumExp(teacherLogits, count: count, scale: invT)
        for i in 0..<count { scratch[i] = exp(teacherLogits[i] * invT - lse) }
    } else {
        scratch.update(repeating: 0, count: count)
        var total: Float = 0
        for pair in sparse { total += max(0, pair.probability) }
        if total > 0 {
            for pair in sparse { scratch[Int(pair.token)] += max(0, pair.probability) / total }
        } else {
            hasTeacher = false
        }
    }
    let studentLSE_T = logSumExp(logits, count: count, scale: invT)
    let studentLSE = logSumExp(logits, count: count, scale: 1)
    var kl: Float = 0
    for i in 0..<count where scratch[i] > 0 {
        kl += scratch[i] * (log(scratch[i]) - (logits[i] * invT - studentLSE_T))
    }
    let ce = studentLSE - logits[target]
    let klWeight = hasTeacher ? alpha : 0
    for i in 0..<count {
        let z = logits[i]
        let soft = exp(z * invT - studentLSE_T), hard = exp(z - studentLSE)
        logits[i] = klWeight * temperature * (soft - scratch[i]) + (1 - alpha) * hard
    }
    logits[target] -= 1 - alpha
    return klWeight * temperature * temperature * kl + (1 - alpha) * ce
}
