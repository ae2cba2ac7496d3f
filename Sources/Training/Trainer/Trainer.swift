import Foundation
import Kernels
import Model

/// The knobs of a training run (stored in checkpoints so `resume` continues with the same ones).
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// Sequences per step, over all ranks of a data-parallel job (each rank computes `batch / ranks` of them).
    public var batch: Int
    public var sequence: Int
    public var schedule: LearningRateSchedule
    public var weightDecay: Float
    public var maxGradientNorm: Float
    /// Seeds the parameter initialisation and the data windows.
    public var seed: UInt64
    /// Set when the run is distilled from a teacher (absent from plain training checkpoints).
    public var distillation: DistillationRecord?

    public init(batch: Int, sequence: Int, schedule: LearningRateSchedule, weightDecay: Float = 0.1,
                maxGradientNorm: Float = 1, seed: UInt64 = 1, distillation: DistillationRecord? = nil) {
        self.batch = batch
        self.sequence = sequence
        self.schedule = schedule
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
        self.seed = seed
        self.distillation = distillation
    }
}

/// What one optimisation step did.
public struct StepResult: Sendable {
    public var step: Int
    public var loss: Float
    public var learningRate: Float
    public var gradientNorm: Float
    public var seconds: Double
    /// Of `seconds`, the time spent summing gradients over the ranks (0 for a single process).
    public var exchangeSeconds: Double = 0
}

/// Runs optimisation steps of a `LlamaTrainingModel` on windows of a token stream, and saves/resumes.
///
/// In a data-parallel job (`group` of several ranks) every rank holds the whole model and computes its own
/// rows of each step's batch; the gradients are summed over the ranks before AdamW, so every rank takes the
/// same step that one process with the whole batch would take.
public final class Trainer: @unchecked Sendable {
    public let model: LlamaTrainingModel
    public let optimizer: AdamW
    public let data: any TrainingBatchSource
    public let options: TrainingOptions
    public let group: ProcessGroup
    /// Steps completed.
    public private(set) var step = 0

    /// This rank's rows of every step's batch of `options.batch` sequences.
    public var rows: Range<Int> { (group.rank * model.batch)..<((group.rank + 1) * model.batch) }
    /// Tokens per step over all ranks.
    public var tokensPerStep: Int { options.batch * options.sequence }

    /// A fresh run: parameters from `RandomLlamaWeights` with the options' seed (the same on every rank).
    public init(config: LlamaConfig, tiedOutput: Bool, data: any TrainingBatchSource, options: TrainingOptions, threads: Int,
                initScale: Float = 0.02, group: ProcessGroup = .single) throws {
        model = try LlamaTrainingModel(config: config, tiedOutput: tiedOutput, batch: try Self.share(of: options.batch, group: group),
                                       sequence: options.sequence, threads: threads)
        let weights = RandomLlamaWeights(config: config, seed: options.seed, scale: initScale)
        model.loadParameters(weights.tensor)
        optimizer = AdamW(layout: model.layout, weightDecay: options.weightDecay, maxGradientNorm: options.maxGradientNorm)
        self.data = data
        self.options = options
        self.group = group
    }

    /// Continues the run saved at `checkpointPath` (read by rank 0 and sent to the others); `totalSteps` may
    /// extend the schedule. The job may have another number of ranks than the one that saved it, as long as
    /// it divides the batch.
    public init(resumingFrom checkpointPath: String, data: any TrainingBatchSource, threads: Int, totalSteps: Int? = nil,
                group: ProcessGroup = .single) throws {
        let saved = try Checkpoint.read(path: checkpointPath, group: group)
        var options = saved.state.options
        if let totalSteps { options.schedule.totalSteps = totalSteps }
        model = try Self.model(of: saved.state, parameters: saved.parameters, path: checkpointPath,
                               batch: try Self.share(of: options.batch, group: group), threads: threads)
        optimizer = AdamW(layout: model.layout, weightDecay: options.weightDecay, maxGradientNorm: options.maxGradientNorm)
        optimizer.m.update(from: saved.m, count: saved.m.count)
        optimizer.v.update(from: saved.v, count: saved.v.count)
        optimizer.stepCount = saved.state.optimizerSteps
        self.data = data
        self.options = options
        self.group = group
        step = saved.state.step
    }

    /// The model a checkpoint's state and parameters describe, for `batch` sequences per step.
    private static func model(of state: TrainingState, parameters: [Float], path: String, batch: Int,
                              threads: Int) throws -> LlamaTrainingModel {
        let model = try LlamaTrainingModel(config: state.config, tiedOutput: state.tiedOutput, batch: batch,
                                           sequence: state.options.sequence, threads: threads)
        guard model.layout.totalCount == state.parameterCount else {
            throw TrainerError.checkpointMismatch(path: path, what: "parameter count",
                                                  expected: "\(model.layout.totalCount)", found: "\(state.parameterCount)")
        }
        model.parameters.update(from: parameters, count: parameters.count)
        return model
    }

    /// Each rank's number of sequences per step.
    private static func share(of batch: Int, group: ProcessGroup) throws -> Int {
        guard batch % group.size == 0 else { throw ParallelError.batchNotDivisible(batch: batch, ranks: group.size) }
        return batch / group.size
    }

    /// One step: batch `step` of the data, forward, backward, clip, AdamW.
    public func trainStep() throws -> StepResult {
        try step { inputs, targets in try model.forward(inputs: inputs, targets: targets) }
    }

    /// One distillation step: like `trainStep()`, with the loss α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE
    /// against `teacher`'s targets for this rank's rows of the step's batch (the teacher's time counts in `seconds`).
    public func trainStep(distillingFrom teacher: TeacherTargetProvider) throws -> StepResult {
        try step { inputs, targets in
            let soft = try teacher.targets(step: step, inputs: inputs, rows: rows, sequence: options.sequence)
            return try model.forward(inputs: inputs, targets: targets, teacher: soft, settings: teacher.record.settings)
        }
    }

    /// One distillation step against targets from anywhere (e.g. a file-order teacher pass): `targets`
    /// gives, for the step, this rank's rows and their inputs, the teacher's targets of those rows.
    public func trainStep(settings: DistillationSettings,
                          targets: (_ step: Int, _ rows: Range<Int>, _ inputs: [Int32]) throws -> TeacherTargets) throws -> StepResult {
        try step { inputs, hard in
            try model.forward(inputs: inputs, targets: hard, teacher: try targets(step, rows, inputs), settings: settings)
        }
    }

    private func step(loss forward: (_ inputs: [Int32], _ targets: [Int32]) throws -> Float) throws -> StepResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let (inputs, targets) = data.batch(step: step, batch: options.batch, rows: rows, sequence: options.sequence)
        var loss = try forward(inputs, targets)
        model.backward()
        var exchangeSeconds = 0.0
        if group.size > 1 {
            let exchangeStart = DispatchTime.now().uptimeNanoseconds
            loss = try combineRanks(loss: loss, targets: targets)
            exchangeSeconds = Double(DispatchTime.now().uptimeNanoseconds - exchangeStart) / 1e9
        }
        let lr = options.schedule.rate(at: step)
        let norm = optimizer.step(parameters: model.parameters, gradients: model.gradients, lr: lr, pool: model.pool)
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepResult(step: step, loss: loss, learningRate: lr, gradientNorm: norm, seconds: seconds, exchangeSeconds: exchangeSeconds)
    }

    /// Turns this rank's loss and gradients, means over its own counted positions, into the means over the
    /// counted positions of the whole batch (what one process with the whole batch computes): each rank
    /// weights its gradients by its share of the positions, then the ranks sum them. Returns the batch's loss.
    private func combineRanks(loss: Float, targets: [Int32]) throws -> Float {
        let counted = Double(targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
        let totals = try group.sum([Double(loss) * counted, counted])
        guard totals[1] > 0 else { return 0 }   // no rank has a target: every gradient is already 0
        let weight = Float(counted / totals[1])
        let gradients = model.gradients
        model.pool.parallelFor(model.layout.totalCount) { range, _ in
            for i in range { gradients[i] *= weight }
        }
        try group.sum(gradients, count: model.layout.totalCount)
        return Float(totals[0] / totals[1])
    }

    /// Mean loss over the first `batches` batches of `heldOut`, without changing anything (every rank of a
    /// data-parallel job takes part, each on its rows).
    public func evaluate(_ heldOut: any TrainingBatchSource, batches: Int) throws -> Float {
        guard group.size > 1 else {
            var total: Float = 0
            for i in 0..<batches {
                let (inputs, targets) = heldOut.batch(step: i, batch: options.batch, sequence: options.sequence)
                total += try model.forward(inputs: inputs, targets: targets)
            }
            return total / Float(max(1, batches))
        }
        // Per batch, the loss weighted by this rank's counted positions, and that count.
        var sums: [Double] = []
        for i in 0..<batches {
            let (inputs, targets) = heldOut.batch(step: i, batch: options.batch, rows: rows, sequence: options.sequence)
            let counted = Double(targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
            sums += [Double(try model.forward(inputs: inputs, targets: targets)) * counted, counted]
        }
        let totals = try group.sum(sums)
        let means = (0..<batches).map { totals[2 * $0 + 1] > 0 ? totals[2 * $0] / totals[2 * $0 + 1] : 0 }
        return Float(means.reduce(0, +) / Double(max(1, batches)))
    }

    /// Saves parameters, AdamW state, step and options atomically to `path`.
    public func saveCheckpoint(to path: String) throws {
        let state = TrainingState(config: model.config, tiedOutput: model.layout.tiedOutput, step: step,
                                  optimizerSteps: optimizer.stepCount, options: options, parameterCount: model.layout.totalCount)
        try Checkpoint.write(state: state, parameters: model.parameters, m: optimizer.m, v: optimizer.v, to: path)
    }

    /// Writes the current parameters as an F32 (or `matrixType`) GGUF with `tokenizer`'s vocabulary.
    public func exportGGUF(to path: String, tokenizer: TokenizerMetadata, name: String, matrixType: GGMLType = .f32) throws {
        try Self.writeGGUF(model: model, step: step, options: options, to: path, tokenizer: tokenizer, name: name, matrixType: matrixType)
    }

    /// Writes the model a checkpoint holds as GGUF (a run's model before it ends, e.g. to try it as a draft
    /// model while it trains); the run is not touched.
    public static func exportCheckpoint(_ checkpointPath: String, to path: String, tokenizer: TokenizerMetadata,
                                        name: String, matrixType: GGMLType = .f32) throws {
        let saved = try Checkpoint.read(path: checkpointPath)
        guard saved.state.vocabularySize == tokenizer.tokens.count else {
            throw TrainerError.checkpointMismatch(path: checkpointPath, what: "vocabulary size",
                                                  expected: "\(tokenizer.tokens.count) (the tokenizer's)", found: "\(saved.state.vocabularySize)")
        }
        let model = try Self.model(of: saved.state, parameters: saved.parameters, path: checkpointPath, batch: 1, threads: 1)
        try writeGGUF(model: model, step: saved.state.step, options: saved.state.options, to: path, tokenizer: tokenizer,
                      name: name, matrixType: matrixType)
    }

    private static func writeGGUF(model: LlamaTrainingModel, step: Int, options: TrainingOptions, to path: String,
                                  tokenizer: TokenizerMetadata, name: String, matrixType: GGMLType) throws {
        var metadata: [(String, GGUFValue)] = [("understudy.training.steps", .uint32(UInt32(step)))]
        if let d = options.distillation {
            metadata += [("understudy.distillation.teacher", .string(d.teacherFile)),
                         ("understudy.distillation.alpha", .float32(d.alpha)),
                         ("understudy.distillation.temperature", .float32(d.temperature))]
        }
        try LlamaFileWriter.write(config: model.config, tokenizer: tokenizer, tiedOutput: model.layout.tiedOutput,
                                  matrixType: matrixType, name: name, metadata: metadata,
                                  tensor: { model.tensor($0) }, to: path)
    }
}
