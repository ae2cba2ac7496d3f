import Kernels
import Model

/// A llama model being trained: flat parameters and gradients in `ParameterLayout` order, and the
/// activations of one batch of `batch` × `sequence` tokens saved for the backward pass.
///
/// Use: `forward(inputs:targets:)` (or the distillation overload) returns the mean loss and leaves the
/// loss gradient w.r.t. the logits in place; `backward()` then fills `gradients`. Not thread-safe.
public final class LlamaTrainingModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let layout: ParameterLayout
    public let batch: Int
    public let sequence: Int
    public let pool: ThreadPool
    /// All parameters, `layout.totalCount` floats.
    public let parameters: UnsafeMutablePointer<Float>
    /// ∂loss/∂parameters after `backward()`, same layout.
    public let gradients: UnsafeMutablePointer<Float>

    private struct LayerActivations {
        var xn1, rstd1, q, k, v, probs, attOut, resid2, xn2, rstd2, gate, up, h: UnsafeMutablePointer<Float>
    }

    private let storage: UnsafeMutablePointer<Float>
    private let storageCount: Int
    /// resid[l] is the input of block l; resid[layers] feeds the final norm.
    private var resid: [UnsafeMutablePointer<Float>] = []
    private var layerActs: [LayerActivations] = []
    private var xnF, rstdF, logits: UnsafeMutablePointer<Float>
    private var dResid, dXn, dQ, dK, dV, dAttOut, dH, dGate, dUp, attentionScratch, rowScratch, rowLoss: UnsafeMutablePointer<Float>
    private let rope: RoPETable
    private var inputs: [Int32] = []
    private var targets: [Int32] = []
    private var readyForBackward = false

    /// Positions per step.
    public var tokensPerStep: Int { batch * sequence }

    public init(config: LlamaConfig, tiedOutput: Bool, batch: Int, sequence: Int, threads: Int) throws {
        try config.validate()
        guard batch >= 1, sequence >= 1 else { throw TrainerError.invalidShape("batch \(batch) and sequence \(sequence) must be at least 1") }
        guard sequence <= config.contextLength else {
            throw TrainerError.invalidShape("sequence \(sequence) exceeds the context length \(config.contextLength)")
        }
        self.config = config
        self.batch = batch
        self.sequence = sequence
        layout = ParameterLayout(config: config, tiedOutput: tiedOutput)
        pool = ThreadPool(threads: max(1, threads))
        rope = RoPETable(sequence: sequence, headDim: config.headDim, theta: config.ropeTheta)
        parameters = .allocate(capacity: layout.totalCount)
        parameters.initialize(repeating: 0, count: layout.totalCount)
        gradients = .allocate(capacity: layout.totalCount)
        gradients.initialize(repeating: 0, count: layout.totalCount)

        let n = batch * sequence, d = config.dim, kv = config.kvDim, hd = config.hiddenDim, vocab = config.vocabularySize
        let perLayer = 5 * n * d + 2 * n + 2 * n * kv + 3 * n * hd + batch * config.heads * sequence * sequence
        let shared = (config.layers + 1) * n * d + n * d + n + n * vocab
            + 4 * n * d + 2 * n * kv + 3 * n * hd + pool.threadCount * (sequence * sequence + 2 * vocab) + n
        storageCount = config.layers * perLayer + shared
        storage = .allocate(capacity: storageCount)
        storage.initialize(repeating: 0, count: storageCount)
        var cursor = storage
        func take(_ count: Int) -> UnsafeMutablePointer<Float> {
            defer { cursor += count }
            return cursor
        }
        resid = (0...config.layers).map { _ in take(n * d) }
        for _ in 0..<config.layers {
            layerActs.append(LayerActivations(
                xn1: take(n * d), rstd1: take(n), q: take(n * d), k: take(n * kv), v: take(n * kv),
                probs: take(batch * config.heads * sequence * sequence), attOut: take(n * d), resid2: take(n * d),
                xn2: take(n * d), rstd2: take(n), gate: take(n * hd), up: take(n * hd), h: take(n * hd)))
        }
        xnF = take(n * d); rstdF = take(n); logits = take(n * vocab)
        dResid = take(n * d); dXn = take(n * d); dQ = take(n * d); dAttOut = take(n * d)
        dK = take(n * kv); dV = take(n * kv)
        dH = take(n * hd); dGate = take(n * hd); dUp = take(n * hd)
        attentionScratch = take(pool.threadCount * sequence * sequence)
        rowScratch = take(pool.threadCount * 2 * vocab)   // distillationRow needs 2·V per thread
        rowLoss = take(n)
        precondition(cursor - storage == storageCount, "activation storage miscounted")
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
        storage.deallocate()
    }

    // MARK: - Parameters

    /// Fills every tensor from `tensor(name)` (e.g. `RandomLlamaWeights.tensor`), in layout order.
    public func loadParameters(_ tensor: (String) throws -> [Float]) rethrows {
        for entry in layout.entries {
            let values = try tensor(entry.name)
            precondition(values.count == entry.count, "\(entry.name): \(values.count) values for \(entry.count) parameters")
            (parameters + entry.offset).update(from: values, count: entry.count)
        }
    }

    /// A copy of the tensor `name` (for export with `LlamaFileWriter`).
    public func tensor(_ name: String) -> [Float] {
        guard let entry = layout.entry(name) else { return [] }
        return Array(UnsafeBufferPointer(start: parameters + entry.offset, count: entry.count))
    }

    /// A copy of the gradient of the tensor `name`.
    public func gradient(_ name: String) -> [Float] {
        guard let entry = layout.entry(name) else { return [] }
        return Array(UnsafeBufferPointer(start: gradients + entry.offset, count: entry.count))
    }

    // MARK: - Forward

    /// Runs the model on `inputs` ([B·T] token ids, batch-major) and returns the logits [B·T][V].
    public func logits(inputs: [Int32]) throws -> [Float] {
        try validate(inputs: inputs, targets: nil)
        self.inputs = inputs
        computeLogits()
        readyForBackward = false
        return Array(UnsafeBufferPointer(start: logits, count: tokensPerStep * config.vocabularySize))
    }

    /// Mean cross-entropy of predicting `targets` ([B·T], -1 = ignored) from `inputs`; prepares `backward()`.
    public func forward(inputs: [Int32], targets: [Int32]) throws -> Float {
        try validate(inputs: inputs, targets: targets)
        self.inputs = inputs
        self.targets = targets
        computeLogits()
        return lossAndGradient { row, target, _ in
            crossEntropyRow(self.logits + row * self.config.vocabularySize, count: self.config.vocabularySize, target: target)
        }
    }

    /// Mean distillation loss α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE over positions whose target is not -1;
    /// prepares `backward()`.
    public func forward(inputs: [Int32], targets: [Int32], teacher: TeacherTargets, settings: DistillationSettings) throws -> Float {
        try validate(inputs: inputs, targets: targets)
        let vocab = config.vocabularySize, n = tokensPerStep
        switch teacher {
        case .logits(let values):
            guard values.count == n * vocab else {
                throw TrainerError.invalidShape("teacher logits hold \(values.count) floats, expected \(n) × \(vocab)")
            }
        case .sparse(let rows):
            guard rows.count == n else { throw TrainerError.invalidShape("\(rows.count) sparse teacher rows, expected \(n)") }
            for (i, row) in rows.enumerated() {
                if let bad = row.first(where: { $0.token < 0 || Int($0.token) >= vocab }) {
                    throw TrainerError.tokenOutOfRange(token: bad.token, position: i, vocabularySize: vocab)
                }
            }
        }
        self.inputs = inputs
        self.targets = targets
        computeLogits()
        return lossAndGradient { row, target, thread in
            let scratch = self.rowScratch + thread * 2 * vocab
            switch teacher {
            case .logits(let values):
                return values.withUnsafeBufferPointer { t in
                    distillationRow(self.logits + row * vocab, count: vocab, target: target,
                                    teacherLogits: t.baseAddress! + row * vocab, sparse: [], settings: settings, scratch: scratch)
                }
            case .sparse(let rows):
                return distillationRow(self.logits + row * vocab, count: vocab, target: target, teacherLogits: nil,
                                       sparse: rows[row], settings: settings, scratch: scratch)
            }
        }
    }

    private func validate(inputs: [Int32], targets: [Int32]?) throws {
        let n = tokensPerStep, vocab = config.vocabularySize
        guard inputs.count == n else { throw TrainerError.invalidShape("\(inputs.count) input tokens, expected \(batch) × \(sequence)") }
        if let i = inputs.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
            throw TrainerError.tokenOutOfRange(token: inputs[i], position: i, vocabularySize: vocab)
        }
        guard let targets else { return }
        guard targets.count == n else { throw TrainerError.invalidShape("\(targets.count) targets, expected \(batch) × \(sequence)") }
        if let i = targets.firstIndex(where: { $0 < -1 || Int($0) >= vocab }) {
            throw TrainerError.tokenOutOfRange(token: targets[i], position: i, vocabularySize: vocab)
        }
    }

    /// Applies `rowLossAndGradient` to every position with a target (rows in parallel), zeroes ignored rows,
    /// scales the gradients by 1/count and returns the mean loss.
    private func lossAndGradient(_ rowLossAndGradient: @escaping (Int, Int, Int) -> Float) -> Float {
        let vocab = config.vocabularySize
        let counted = targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        let inverse = counted > 0 ? 1 / Float(counted) : 0
        targets.withUnsafeBufferPointer { t in
            pool.parallelFor(tokensPerStep) { range, thread in
                for row in range {
                    let z = self.logits + row * vocab
                    guard t[row] >= 0 else {
                        z.update(repeating: 0, count: vocab)
                        self.rowLoss[row] = 0
                        continue
                    }
                    self.rowLoss[row] = rowLossAndGradient(row, Int(t[row]), thread)
                    for i in 0..<vocab { z[i] *= inverse }
                }
            }
        }
        var total: Double = 0
        for row in 0..<tokensPerStep { total += Double(rowLoss[row]) }
        readyForBackward = true
        return Float(total * Double(inverse))
    }

    private var attentionShape: AttentionShape {
        AttentionShape(batch: batch, sequence: sequence, heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim)
    }

    private func computeLogits() {
        let c = config, n = tokensPerStep, d = c.dim, kv = c.kvDim, hd = c.hiddenDim
        let p = parameters, eps = c.normEpsilon
        inputs.withUnsafeBufferPointer { embeddingForward(resid[0], inputs: $0.baseAddress!, table: p + layout.tokenEmbedding, rows: n, dim: d) }
        for l in 0..<c.layers {
            let w = layout.blocks[l], a = layerActs[l], x = resid[l], next = resid[l + 1]
            rmsNormForward(a.xn1, rstd: a.rstd1, x, weight: p + w.attentionNorm, rows: n, dim: d, epsilon: eps)
            linearForward(a.q, a.xn1, p + w.query, rows: n, inDim: d, outDim: d, pool: pool)
            linearForward(a.k, a.xn1, p + w.key, rows: n, inDim: d, outDim: kv, pool: pool)
            linearForward(a.v, a.xn1, p + w.value, rows: n, inDim: d, outDim: kv, pool: pool)
            rope.apply(a.q, rows: n, heads: c.heads, inverse: false)
            rope.apply(a.k, rows: n, heads: c.kvHeads, inverse: false)
            attentionForward(a.attOut, probs: a.probs, q: a.q, k: a.k, v: a.v, shape: attentionShape, pool: pool)
            linearForward(a.resid2, a.attOut, p + w.attentionOutput, rows: n, inDim: d, outDim: d, pool: pool)
            add(a.resid2, x, count: n * d, into: a.resid2)
            rmsNormForward(a.xn2, rstd: a.rstd2, a.resid2, weight: p + w.ffnNorm, rows: n, dim: d, epsilon: eps)
            linearForward(a.gate, a.xn2, p + w.gate, rows: n, inDim: d, outDim: hd, pool: pool)
            linearForward(a.up, a.xn2, p + w.up, rows: n, inDim: d, outDim: hd, pool: pool)
            swigluForward(a.h, gate: a.gate, up: a.up, count: n * hd, pool: pool)
            linearForward(next, a.h, p + w.down, rows: n, inDim: hd, outDim: d, pool: pool)
            add(next, a.resid2, count: n * d, into: next)
        }
        rmsNormForward(xnF, rstd: rstdF, resid[c.layers], weight: p + layout.outputNorm, rows: n, dim: d, epsilon: eps)
        linearForward(logits, xnF, p + layout.output, rows: n, inDim: d, outDim: c.vocabularySize, pool: pool)
    }

    // MARK: - Backward

    /// Sets every gradient to zero.
    public func zeroGradients() { gradients.update(repeating: 0, count: layout.totalCount) }

    /// Overwrites `gradients` with ∂loss/∂parameters of the last `forward`.
    public func backward() {
        precondition(readyForBackward, "backward() needs a forward(inputs:targets:) first")
        readyForBackward = false
        zeroGradients()
        let c = config, n = tokensPerStep, d = c.dim, kv = c.kvDim, hd = c.hiddenDim
        let p = parameters, g = gradients
        linearBackward(dInp: dXn, dWeight: g + layout.output, dOut: logits, inp: xnF, weight: p + layout.output,
                       rows: n, inDim: d, outDim: c.vocabularySize, accumulateInput: false, pool: pool)
        dResid.update(repeating: 0, count: n * d)
        rmsNormBackward(dX: dResid, dWeight: g + layout.outputNorm, dOut: dXn, x: resid[c.layers],
                        weight: p + layout.outputNorm, rstd: rstdF, rows: n, dim: d)
        for l in (0..<c.layers).reversed() {
            let w = layout.blocks[l], a = layerActs[l]
            // Feed-forward half: resid[l+1] = resid2 + down(silu(gate(xn2)) · up(xn2)).
            linearBackward(dInp: dH, dWeight: g + w.down, dOut: dResid, inp: a.h, weight: p + w.down,
                           rows: n, inDim: hd, outDim: d, accumulateInput: false, pool: pool)
            swigluBackward(dGate: dGate, dUp: dUp, dH: dH, gate: a.gate, up: a.up, count: n * hd, pool: pool)
            linearBackward(dInp: dXn, dWeight: g + w.gate, dOut: dGate, inp: a.xn2, weight: p + w.gate,
                           rows: n, inDim: d, outDim: hd, accumulateInput: false, pool: pool)
            linearBackward(dInp: dXn, dWeight: g + w.up, dOut: dUp, inp: a.xn2, weight: p + w.up,
                           rows: n, inDim: d, outDim: hd, accumulateInput: true, pool: pool)
            rmsNormBackward(dX: dResid, dWeight: g + w.ffnNorm, dOut: dXn, x: a.resid2, weight: p + w.ffnNorm,
                            rstd: a.rstd2, rows: n, dim: d)
            // Attention half: resid2 = resid[l] + output(attention(rope(q), rope(k), v)).
            linearBackward(dInp: dAttOut, dWeight: g + w.attentionOutput, dOut: dResid, inp: a.attOut,
                           weight: p + w.attentionOutput, rows: n, inDim: d, outDim: d, accumulateInput: false, pool: pool)
            attentionBackward(dQ: dQ, dK: dK, dV: dV, dOut: dAttOut, probs: a.probs, q: a.q, k: a.k, v: a.v,
                              shape: attentionShape, scratch: attentionScratch, pool: pool)
            rope.apply(dQ, rows: n, heads: c.heads, inverse: true)
            rope.apply(dK, rows: n, heads: c.kvHeads, inverse: true)
            linearBackward(dInp: dXn, dWeight: g + w.query, dOut: dQ, inp: a.xn1, weight: p + w.query,
                           rows: n, inDim: d, outDim: d, accumulateInput: false, pool: pool)
            linearBackward(dInp: dXn, dWeight: g + w.key, dOut: dK, inp: a.xn1, weight: p + w.key,
                           rows: n, inDim: d, outDim: kv, accumulateInput: true, pool: pool)
            linearBackward(dInp: dXn, dWeight: g + w.value, dOut: dV, inp: a.xn1, weight: p + w.value,
                           rows: n, inDim: d, outDim: kv, accumulateInput: true, pool: pool)
            rmsNormBackward(dX: dResid, dWeight: g + w.attentionNorm, dOut: dXn, x: resid[l], weight: p + w.attentionNorm,
                            rstd: a.rstd1, rows: n, dim: d)
        }
        inputs.withUnsafeBufferPointer {
            embeddingBackward(dTable: g + layout.tokenEmbedding, dOut: dResid, inputs: $0.baseAddress!, rows: n, dim: d)
        }
    }
}
