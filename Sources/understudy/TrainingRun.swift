import ArgumentParser
import Foundation
import Model
import Synchronization
import Training

/// The options `understudy train` and `understudy distill` share: data, shape, schedule, output.
struct TrainingArguments: ParsableArguments {
    @Option(help: "A GGUF file whose tokenizer (vocabulary) the model uses.") var tokenizer: String?
    @Option(help: "A training shard written by `understudy corpus` (repeatable).") var data: [String] = []
    @Option(help: "A held-out shard to report held-out loss on (repeatable).") var evalData: [String] = []
    @Option(help: "Share of documents turned into fill-in-the-middle examples.") var fimRate = 0.5
    @Option(help: "Share of FIM examples in suffix-prefix-middle order (the rest prefix-suffix-middle).") var spmRate = 0.5
    @Option(help: "Shape overrides as key=value pairs, e.g. dim=288,hidden=768,layers=6,heads=6,kv-heads=6.") var config: String?
    @Option(help: "Embedding width.") var dim = 288
    @Option(help: "Feed-forward width.") var hidden = 768
    @Option(help: "Transformer blocks.") var layers = 6
    @Option(help: "Attention heads.") var heads = 6
    @Option(help: "Key/value heads (default: --heads).") var kvHeads: Int?
    @Flag(help: "Share the token embedding with the output matrix.") var tiedOutput = false
    @Option(help: "Sequences per step (per rank under mpirun: N ranks train with a batch of N × --batch).") var batch = 8
    @Option(help: "Tokens per sequence (also the model's context length).") var context = 256
    @Option(help: "Total optimisation steps.") var steps = 1000
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Final learning rate of the cosine decay (default: --lr / 10).") var minLr: Float?
    @Option(help: "Linear warmup steps.") var warmup = 100
    @Option(help: "Decoupled weight decay on matrices.") var weightDecay: Float = 0.1
    @Option(help: "Clip gradients to this global L2 norm (0 = off).") var clip: Float = 1
    @Option(help: "Seed of the initial weights and of the data windows.") var seed: UInt64 = 1
    @Option(help: "Worker threads (per rank under mpirun).") var threads = 2
    @Option(help: "Output directory (checkpoint, loss log and plot, final GGUF).") var out: String?
    @Flag(help: "Continue from the checkpoint in --out.") var resume = false
    @Option(help: "Steps between checkpoints.") var checkpointEvery = 200
    @Option(help: "Steps between progress lines when stderr is not a terminal.") var logEvery = 10
    @Option(help: "Steps between held-out evaluations (with --eval-data).") var evalEvery = 200

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, not \(threads)") }
        guard batch >= 1, context >= 1, steps >= 1 else { throw ValidationError("--batch, --context and --steps must be at least 1") }
        guard checkpointEvery >= 1, evalEvery >= 1 else { throw ValidationError("--checkpoint-every and --eval-every must be at least 1") }
    }

    /// The model shape from the flags and --config, for a vocabulary of `vocabularySize` tokens.
    func shape(vocabularySize: Int) throws -> LlamaConfig {
        var values = ["dim": dim, "hidden": hidden, "layers": layers, "heads": heads, "kv-heads": kvHeads ?? heads]
        if let config {
            for pair in config.split(separator: ",") {
                let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, values[parts[0]] != nil, let v = Int(parts[1]) else {
                    throw CLIError("--config: cannot read '\(pair)'; expected key=integer with key one of \(values.keys.sorted())")
                }
                values[parts[0]] = v
                if parts[0] == "heads" && kvHeads == nil && !config.contains("kv-heads") { values["kv-heads"] = v }
            }
        }
        let c = LlamaConfig(vocabularySize: vocabularySize, dim: values["dim"]!, hiddenDim: values["hidden"]!,
                            layers: values["layers"]!, heads: values["heads"]!, kvHeads: values["kv-heads"]!, contextLength: context)
        do { try c.validate() } catch { throw CLIError("\(error)") }
        return c
    }

    /// The optimiser and data options of a new run of `ranks` processes (--batch sequences each).
    func options(distillation: DistillationRecord? = nil, ranks: Int = 1) -> TrainingOptions {
        TrainingOptions(batch: batch * ranks, sequence: context,
                        schedule: LearningRateSchedule(peak: lr, floor: minLr ?? lr / 10, warmupSteps: warmup, totalSteps: steps),
                        weightDecay: weightDecay, maxGradientNorm: clip, seed: seed, distillation: distillation)
    }
}

/// One `train` or `distill` run: its tokenizer, data and output files, and the step loop both commands
/// use (progress line, held-out loss, checkpoints with loss.csv and loss.svg, Ctrl-C, final GGUF).
/// Under mpirun every rank runs it on its share of each batch; rank 0 alone prints progress and writes --out.
struct TrainingRun {
    let arguments: TrainingArguments
    /// "train" or "distill", for messages and the plot title.
    let command: String
    let group: ProcessGroup
    let vocabulary: TokenizerMetadata
    let training: WindowLoader
    let heldOut: WindowLoader?
    let out: String
    var checkpointPath: String { out + "/" + Checkpoint.fileName }
    var csvPath: String { out + "/loss.csv" }
    var svgPath: String { out + "/loss.svg" }

    /// Runs `body` in this process's group: alone, or as a rank of the job mpirun started. In a job, an error
    /// on any rank is printed with the rank and ends every rank (none is left waiting in a collective).
    static func inProcessGroup(_ body: (ProcessGroup) throws -> Void) throws {
        let group: ProcessGroup
        do { group = try ProcessGroup.fromEnvironment() } catch { throw CLIError("\(error)") }
        guard group.size > 1 else { return try body(group) }
        do { try body(group) } catch {
            // Most errors (a bad flag, a checkpoint of another kind) happen on every rank at once: the other
            // ranks give rank 0 time to print it and end the job (mpirun takes about a second to stop the
            // rest after a rank exits), and speak only if it did not.
            if !group.isRoot { sleep(3) }
            group.abort(message: "Error: rank \(group.rank) of \(group.size): \(error)")
        }
        group.finish()
    }

    /// Reads the tokenizer and the shards and (rank 0) creates --out.
    /// `documents(shards)`, when given, lists per --data shard the only documents to train on.
    init(arguments a: TrainingArguments, command: String, group: ProcessGroup,
         documents: (([TokenShard]) throws -> [[Int]])? = nil) throws {
        guard let tokenizer = a.tokenizer, !a.data.isEmpty, let out = a.out else {
            throw CLIError("--tokenizer, --data and --out are required")
        }
        let bpe: BPETokenizer
        do {
            vocabulary = try TokenizerMetadata(gguf: GGUFFile(path: tokenizer))
            bpe = try vocabulary.makeTokenizer()
        } catch {
            throw CLIError("cannot read a tokenizer from \(tokenizer): \(error)")
        }
        func loader(_ paths: [String], seed: UInt64, documents: (([TokenShard]) throws -> [[Int]])?) throws -> WindowLoader {
            let shards: [TokenShard]
            do { shards = try paths.map { try TokenShard(path: $0) } } catch {
                throw CLIError("cannot use \(paths.joined(separator: ", ")): \(error)")
            }
            let listed = try documents?(shards)
            do {
                return try WindowLoader(shards: shards, tokenizer: bpe, length: a.context + 1,
                                        seed: seed, fimRate: a.fimRate, spmRate: a.spmRate, documents: listed)
            } catch {
                throw CLIError("cannot use \(paths.joined(separator: ", ")): \(error)")
            }
        }
        training = try loader(a.data, seed: a.seed, documents: documents)
        heldOut = a.evalData.isEmpty ? nil : try loader(a.evalData, seed: 12_345, documents: nil)
        if group.isRoot { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
        arguments = a
        self.command = command
        self.group = group
        self.out = out
    }

    /// Prints on rank 0 only, so that a job of N ranks says things once.
    func say(_ text: String) { if group.isRoot { printError(text) } }

    /// A new trainer, or with --resume the one saved in --out (which must be a run of the same kind:
    /// distilled when `distillation` is given, plain otherwise) and the loss log up to its step.
    func makeTrainer(distillation: DistillationRecord?) throws -> (Trainer, LossLog) {
        let a = arguments
        guard a.resume else {
            let config = try a.shape(vocabularySize: vocabulary.tokens.count)
            let trainer = try Trainer(config: config, tiedOutput: a.tiedOutput, data: training,
                                      options: a.options(distillation: distillation, ranks: group.size), threads: a.threads, group: group)
            say("\(command): \(config) — \(formatCount(trainer.model.layout.totalCount)) parameters, "
                + "\(formatCount(training.totalTokens)) tokens" + ranksNote(trainer))
            return (trainer, LossLog())
        }
        if group.isRoot {
            guard FileManager.default.fileExists(atPath: checkpointPath) else { throw CLIError("--resume: no checkpoint at \(checkpointPath)") }
            removeStaleTemporaryFiles()
        }
        let trainer = try Trainer(resumingFrom: checkpointPath, data: training, threads: a.threads, totalSteps: a.steps, group: group)
        guard trainer.model.config.vocabularySize == vocabulary.tokens.count else {
            throw CLIError("the checkpoint's vocabulary (\(trainer.model.config.vocabularySize)) differs from \(a.tokenizer!)'s")
        }
        switch (trainer.options.distillation, distillation) {
        case (let saved?, nil):
            throw CLIError("\(checkpointPath) is a distillation run (teacher \(saved.teacherFile)); continue it with `understudy distill --resume`")
        case (nil, _?):
            throw CLIError("\(checkpointPath) is a plain training run; continue it with `understudy train --resume`")
        default:
            break
        }
        var log = LossLog()
        if group.isRoot, let text = try? String(contentsOfFile: csvPath, encoding: .utf8) { log = LossLog(csv: text, upToStep: trainer.step) }
        say("resuming at step \(trainer.step) of \(a.steps)" + ranksNote(trainer))
        return (trainer, log)
    }

    /// How the batch is split, for a job of several ranks ("" otherwise).
    private func ranksNote(_ trainer: Trainer) -> String {
        guard group.size > 1 else { return "" }
        return "; batch \(trainer.options.batch) = \(group.size) ranks × \(trainer.model.batch) (\(group.library))"
    }

    /// Runs `step` until --steps or Ctrl-C; saves every --checkpoint-every steps and at the end (calling
    /// `willSave` first), then writes model.gguf unless interrupted. Ctrl-C exits 0 after saving.
    /// In a job of several ranks the ranks agree before each step whether to stop, so they stop together.
    func loop(_ trainer: Trainer, log startLog: LossLog, step: () throws -> StepResult,
              willSave: () throws -> Void = {}) throws {
        let a = arguments
        var log = startLog
        let interrupt = InterruptFlag()
        let savedStep = SavedStep(a.resume ? trainer.step : -1)
        if group.size > 1 && group.isRoot {
            // mpirun answers a rank that dies (or its own Ctrl-C) with SIGTERM to the others, then SIGKILL a
            // second later; the main thread may be waiting for the dead rank, so say now what is on disk.
            interrupt.install { [command, checkpointPath] _ in
                let step = savedStep.value.load(ordering: .relaxed)
                printError("\(command): mpirun is ending the job (a rank stopped, or the job was interrupted); "
                           + (step >= 0 ? "\(checkpointPath) holds step \(step) and is intact: continue with --resume"
                                        : "no checkpoint was written yet"))
            }
        } else {
            interrupt.install()
        }
        var progress = ProgressLine(totalSteps: a.steps, tokensPerStep: trainer.tokensPerStep, every: a.logEvery)
        let title = "understudy \(command) — \(trainer.model.config)"
        func save() throws {
            guard group.isRoot else { return }
            try willSave()
            // The log goes first: killed in between, it is ahead of the checkpoint, and a resume drops the rows
            // past the checkpoint's step; the other order could leave a gap in the curve.
            try AtomicFile.write(Array(log.csv.utf8), to: csvPath)
            try AtomicFile.write(Array(LossPlot.svg(LossPlot.series(for: log), title: title).utf8), to: svgPath)
            try trainer.saveCheckpoint(to: checkpointPath)
            savedStep.value.store(trainer.step, ordering: .relaxed)
        }
        var interrupted = false
        while trainer.step < a.steps {
            interrupted = try group.any(interrupt.isRaised)
            if interrupted { break }
            let result = try step()
            var evalLoss: Float?
            if let heldOut, result.step % a.evalEvery == 0 || result.step == a.steps {
                evalLoss = try trainer.evaluate(heldOut, batches: 4)
            }
            log.append(.init(step: result.step, loss: result.loss, learningRate: result.learningRate, gradientNorm: result.gradientNorm,
                             tokensPerSecond: Double(trainer.tokensPerStep) / result.seconds, evalLoss: evalLoss))
            if group.isRoot { progress.update(result, evalLoss: evalLoss) }
            if result.step % a.checkpointEvery == 0 { try save() }
        }
        if group.isRoot { progress.finish() }
        try save()
        if interrupted {
            say("interrupted: saved step \(trainer.step) to \(checkpointPath); continue with --resume")
            return
        }
        guard group.isRoot else { return }
        let model = out + "/model.gguf"
        try trainer.exportGGUF(to: model, tokenizer: vocabulary, name: "understudy-\(trainer.model.config.dim)x\(trainer.model.config.layers)")
        printError("wrote \(model), \(checkpointPath), \(csvPath), \(svgPath)")
    }

    /// Temporary files of atomic writes that a killed run left behind (never a published file).
    private func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        for name in names where name.contains(".tmp-") { try? FileManager.default.removeItem(atPath: out + "/" + name) }
    }
}

/// The step of the last checkpoint written (-1: none), read by the signal handler while the loop runs.
private final class SavedStep: Sendable {
    let value: Atomic<Int>
    init(_ step: Int) { value = Atomic(step) }
}

/// The progress bar on stderr: rewritten in place on a terminal, one line every `every` steps otherwise.
struct ProgressLine {
    let totalSteps: Int
    let tokensPerStep: Int
    let every: Int
    let terminal = isatty(2) != 0
    var recentSeconds: [Double] = []
    var smoothedLoss: Float?

    init(totalSteps: Int, tokensPerStep: Int, every: Int) {
        self.totalSteps = totalSteps
        self.tokensPerStep = tokensPerStep
        self.every = max(1, every)
    }

    mutating func update(_ r: StepResult, evalLoss: Float?) {
        recentSeconds.append(r.seconds)
        if recentSeconds.count > 20 { recentSeconds.removeFirst() }
        smoothedLoss = smoothedLoss.map { 0.9 * $0 + 0.1 * r.loss } ?? r.loss
        let perStep = recentSeconds.reduce(0, +) / Double(recentSeconds.count)
        let eta = perStep * Double(totalSteps - r.step)
        let width = 24, filled = width * r.step / max(1, totalSteps)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var line = String(format: "%@ %d/%d  loss %.4f (avg %.4f)  lr %.2e  %.0f tok/s  ETA %@", bar, r.step, totalSteps, r.loss,
                          smoothedLoss!, r.learningRate, Double(tokensPerStep) / perStep, Self.duration(eta))
        if let evalLoss { line += String(format: "  held-out %.4f", evalLoss) }
        if terminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else if r.step % every == 0 || r.step == totalSteps || evalLoss != nil {
            printError(line)
        }
    }

    func finish() { if terminal { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
