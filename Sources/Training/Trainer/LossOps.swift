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
/// `scratch` holds 2 · count floats.
///
/// d/dz [α·T²·KL(p ‖ softmax(z/T))] = α·T·(softmax(z/T) − p), and CE's gradient is softmax(z) − onehot.
/// Every pass over the vocabulary is a SIMD kernel (softmax, dot): exp over V floats, three times per
/// row, is most of a distillation step's loss cost.
public func distillationRow(_ logits: UnsafeMutablePointer<Float>, count: Int, target: Int,
                            teacherLogits: UnsafePointer<Float>?, sparse: [TeacherProbability],
                            settings: DistillationSettings, scratch: UnsafeMutablePointer<Float>) -> Float {
    guard let teacherLogits else {
        return sparseDistillationRow(logits, count: count, target: target, sparse: sparse, settings: settings, scratch: scratch)
    }
    let temperature = settings.temperature, alpha = settings.alpha, invT = 1 / temperature
    let teacher = scratch, soft = scratch + count
    // teacher = p; pLogP = Σ p log p.
    let teacherLSE = softmax(teacherLogits, scale: invT, count: count, into: teacher)
    let pLogP = dotF32(teacher, teacherLogits, count: count) * invT - teacherLSE
    // KL(p ‖ q) with log q_i = z_i / T − lse_T: Σ p log p − (p · z) / T + lse_T (Σ p = 1).
    let pDotZ = dotF32(teacher, logits, count: count)
    let ce0 = logits[target]
    let studentLSE_T = softmax(logits, scale: invT, count: count, into: soft)
    let studentLSE = softmax(logits, scale: 1, count: count, into: logits)   // logits now hold softmax(z)
    let kl = pLogP - pDotZ * invT + studentLSE_T
    let ce = studentLSE - ce0
    let klScale = alpha * temperature, hardScale = 1 - alpha
    let rl = UnsafeMutableRawPointer(logits), rs = UnsafeRawPointer(soft), rt = UnsafeRawPointer(teacher)
    var i = 0
    while i + 8 <= count {
        let hard = rl.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let q = rs.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let p = rt.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        rl.storeBytes(of: klScale * (q - p) + hardScale * hard, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        logits[i] = klScale * (soft[i] - teacher[i]) + hardScale * logits[i]
        i += 1
    }
    logits[target] -= hardScale
    return klScale * temperature * kl + hardScale * ce
}

/// `distillationRow` for a sparse teacher: p is nonzero on a few tokens only, so p·z, Σ p log p and the
/// −α·T·p part of the gradient are sums over those tokens, and no dense copy of p is made. At T = 1 the
/// softened student distribution is the plain softmax, computed once. A row without teacher
/// probabilities is plain cross-entropy at full weight: it is ordinary training data (a FIM suffix, a
/// window the teacher pass does not cover), and weighting it by 1 − α would make that data count less than
/// the rest (with `--no-teacher-pass-fim` at α 0.7, 70% of the positions at 0.3). Such rows cost one
/// softmax and one vector pass over the vocabulary.
func sparseDistillationRow(_ logits: UnsafeMutablePointer<Float>, count: Int, target: Int, sparse: [TeacherProbability],
                           settings: DistillationSettings, scratch: UnsafeMutablePointer<Float>) -> Float {
    let temperature = settings.temperature, invT = 1 / temperature
    // The teacher's tokens once each (duplicates merged), renormalised to sum to 1.
    var merged: [(token: Int, p: Float)] = []
    var total: Float = 0
    for pair in sparse where pair.probability > 0 && pair.token >= 0 && Int(pair.token) < count {
        total += pair.probability
        if let k = merged.firstIndex(where: { $0.token == Int(pair.token) }) {
            merged[k].p += pair.probability
        } else {
            merged.append((Int(pair.token), pair.probability))
        }
    }
    let hasTeacher = total > 0
    let alpha = hasTeacher ? settings.alpha : 0
    var pLogP: Float = 0, pDotZ: Float = 0
    for k in merged.indices {
        merged[k].p /= total
        pLogP += merged[k].p * log(merged[k].p)
        pDotZ += merged[k].p * logits[merged[k].token]
    }
    let ce0 = logits[target]
    let klScale = alpha * temperature, hardScale = 1 - alpha
    var kl: Float = 0
    if temperature == 1 {
        let studentLSE = softmax(logits, scale: 1, count: count, into: logits)   // q = softmax(z), also CE's
        kl = pLogP - pDotZ + studentLSE
        let ce = studentLSE - ce0
        // Gradient: α·(q − p) + (1 − α)·(q − onehot) = q − α·p − (1 − α)·onehot, with α = 0 without a teacher.
        scale(logits, count: count, by: klScale + hardScale)
        for (token, p) in merged { logits[token] -= klScale * p }
        logits[target] -= hardScale
        return klScale * kl + hardScale * ce
    }
    let soft = scratch
    let studentLSE_T = hasTeacher ? softmax(logits, scale: invT, count: count, into: soft) : 0
    let studentLSE = softmax(logits, scale: 1, count: count, into: logits)   // logits now hold softmax(z)
    kl = hasTeacher ? pLogP - pDotZ * invT + studentLSE_T : 0
    let ce = studentLSE - ce0
    if hasTeacher {
        let rl = UnsafeMutableRawPointer(logits), rs = UnsafeRawPointer(soft)
        var i = 0
        while i + 8 <= count {
            let hard = rl.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let q = rs.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            rl.storeBytes(of: klScale * q + hardScale * hard, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { logits[i] = klScale * soft[i] + hardScale * logits[i]; i += 1 }
        for (token, p) in merged { logits[token] -= klScale * p }
    } else {
        scale(logits, count: count, by: hardScale)
    }
    logits[target] -= hardScale
    return klScale * temperature * kl + hardScale * ce
}
