import Foundation
import Kernels
import Model

/// The knobs of a training run (stored in checkpoints so `resume` continues with the same ones).
public struct TrainingOptions: Codable, Sendable, Equatable {
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
}

/// Runs optimisation steps of a `LlamaTrainingModel` on windows of a token stream, and saves/resumes.
public final class Trainer: @unchecked Sendable {
    public let model: LlamaTrainingModel
    public let optimizer: AdamW
    public let data: any TrainingBatchSource
    public let options: TrainingOptions
    /// Steps completed.
    public private(set) var step = 0

    /// A fresh run: parameters from `RandomLlamaWeights` with the options' seed.
    public init(config: LlamaConfig, tiedOutput: Bool, data: any TrainingBatchSource, options: TrainingOptions, threads: Int,
                initScale: Float = 0.02) throws {
        model = try LlamaTrainingModel(config: config, tiedOutput: tiedOutput, batch: options.batch,
                                       sequence: options.sequence, threads: threads)
        let weights = RandomLlamaWeights(config: config, seed: options.seed, scale: initScale)
        model.loadParameters(weights.tensor)
        optimizer = AdamW(layout: model.layout, weightDecay: options.weightDecay, maxGradientNorm: options.maxGradientNorm)
        self.data = data
        self.options = options
    }

    /// Continues the run saved at `checkpointPath`; `totalSteps` may extend the schedule.
    public init(resumingFrom checkpointPath: String, data: any TrainingBatchSource, threads: Int, totalSteps: Int? = nil) throws {
        let saved = try Checkpoint.read(path: checkpointPath)
        var options = saved.state.options
        if let totalSteps { options.schedule.totalSteps = totalSteps }
        model = try LlamaTrainingModel(config: saved.state.config, tiedOutput: saved.state.tiedOutput,
                                       batch: options.batch, sequence: options.sequence, threads: threads)
        guard model.layout.totalCount == saved.state.parameterCount else {
            throw TrainerError.checkpointMismatch(path: checkpointPath, what: "parameter count",
                                                  expected: "\(model.layout.totalCount)", found: "\(saved.state.parameterCount)")
        }
        model.parameters.update(from: saved.parameters, count: saved.parameters.count)
        optimizer = AdamW(layout: model.layout, weightDecay: options.weightDecay, maxGradientNorm: options.maxGradientNorm)
        optimizer.m.update(from: saved.m, count: saved.m.count)
        optimizer.v.update(from: saved.v, count: saved.v.count)
        optimizer.stepCount = saved.state.optimizerSteps
        self.data = data
        self.options = options
        step = saved.state.step
    }

    /// One step: batch `step` of the data, forward, backward, clip, AdamW.
    public func trainStep() throws -> StepResult {
        try step { inputs, targets in try model.forward(inputs: inputs, targets: targets) }
    }

    /// One distillation step: like `trainStep()`, with the loss α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE
    /// against `teacher`'s targets for this step's batch (the teacher's time counts in `seconds`).
    public func trainStep(distillingFrom teacher: TeacherTargetProvider) throws -> StepResult {
        try step { inputs, targets in
            let soft = try teacher.targets(step: step, inputs: inputs, batch: options.batch, sequence: options.sequence)
            return try model.forward(inputs: inputs, targets: targets, teacher: soft, settings: teacher.record.settings)
        }
    }

    private func step(loss forward: (_ inputs: [Int32], _ targets: [Int32]) throws -> Float) throws -> StepResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let (inputs, targets) = data.batch(step: step, batch: options.batch, sequence: options.sequence)
        let loss = try forward(inputs, targets)
        model.backward()
        let lr = options.schedule.rate(at: step)
        let norm = optimizer.step(parameters: model.parameters, gradients: model.gradients, lr: lr, pool: model.pool)
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepResult(step: step, loss: loss, learningRate: lr, gradientNorm: norm, seconds: seconds)
    }

    /// Mean loss over the first `batches` batches of `heldOut`, without changing anything.
    public func evaluate(_ heldOut: any TrainingBatchSource, batches: Int) throws -> Float {
        var total: Float = 0
        for i in 0..<batches {
            let (inputs, targets) = heldOut.batch(step: i, batch: options.batch, sequence: options.sequence)
            total += try model.forward(inputs: inputs, targets: targets)
        }
        return total / Float(max(1, batches))
    }

    /// Saves parameters, AdamW state, step and options atomically to `path`.
    public func saveCheckpoint(to path: String) throws {
        let state = TrainingState(config: model.config, tiedOutput: model.layout.tiedOutput, step: step,
                                  optimizerSteps: optimizer.stepCount, options: options, parameterCount: model.layout.totalCount)
        try Checkpoint.write(state: state, parameters: model.parameters, m: optimizer.m, v: optimizer.v, to: path)
    }

    /// Writes the current parameters as an F32 (or `matrixType`) GGUF with `tokenizer`'s vocabulary.
    public func exportGGUF(to path: String, tokenizer: TokenizerMetadata, name: String, matrixType: GGMLType = .f32) throws {
        var metadata: [(String, GGUFValue)] = [("understudy.training.steps", .uint32(UInt32(step)))]
        if let d = options.distillation {
            metadata += [("understudy.distillation.teacher", .string(d.teacherFile)),
                         ("understudy.distillation.alpha", .float32(d.alpha)),
                         ("understudy.distillation.temperature", .float32(d.temperature))]
        }
        try LlamaFileWriter.write(config: model.config, tokenizer: tokenizer, tiedOutput: model.layout.tiedOutput,
                                  matrixType: matrixType, name: name, metadata: metadata,
                                  tensor: { self.model.tensor($0) }, to: path)
    }
}
