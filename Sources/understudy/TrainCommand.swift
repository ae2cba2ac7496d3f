import ArgumentParser
import Foundation
import Kernels
import Model
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a llama model from scratch on corpus shards (hand-written backward passes, AdamW).",
        discussion: """
        Writes into --out: checkpoint.bin (parameters, AdamW state, step, options; replaced atomically every \
        --checkpoint-every steps and on Ctrl-C), loss.csv, loss.svg (the loss curves) and model.gguf (F32) at the end. \
        --resume continues from --out's checkpoint with the same batches an uninterrupted run would have used. \
        --data takes the shards `understudy corpus --tokenizer` writes (format: Sources/Training/Corpus/README.md); \
        each document becomes a fill-in-the-middle example with probability --fim-rate.
        """)

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
    @Option(help: "Sequences per step.") var batch = 8
    @Option(help: "Tokens per sequence (also the model's context length).") var context = 256
    @Option(help: "Total optimisation steps.") var steps = 1000
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Final learning rate of the cosine decay (default: --lr / 10).") var minLr: Float?
    @Option(help: "Linear warmup steps.") var warmup = 100
    @Option(help: "Decoupled weight decay on matrices.") var weightDecay: Float = 0.1
    @Option(help: "Clip gradients to this global L2 norm (0 = off).") var clip: Float = 1
    @Option(help: "Seed of the initial weights and of the data windows.") var seed: UInt64 = 1
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Output directory (checkpoint, loss log and plot, final GGUF).") var out: String?
    @Flag(help: "Continue from the checkpoint in --out.") var resume = false
    @Option(help: "Steps between checkpoints.") var checkpointEvery = 200
    @Option(help: "Steps between progress lines when stderr is not a terminal.") var logEvery = 10
    @Option(help: "Steps between held-out evaluations (with --eval-data).") var evalEvery = 200
    @Option(help: "Only measure speed: run this many steps on random tokens (vocabulary --vocab) and print tokens/s.") var benchmark: Int?
    @Option(help: "Vocabulary size for --benchmark without --tokenizer.") var vocab = 8192

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

    var options: TrainingOptions {
        TrainingOptions(batch: batch, sequence: context,
                        schedule: LearningRateSchedule(peak: lr, floor: minLr ?? lr / 10, warmupSteps: warmup, totalSteps: steps),
                        weightDecay: weightDecay, maxGradientNorm: clip, seed: seed)
    }

    func run() throws {
        if let benchmark { return try runBenchmark(steps: benchmark) }
        guard let tokenizer, !data.isEmpty, let out else { throw CLIError("--tokenizer, --data and --out are required (or --benchmark)") }
        let vocabulary: TokenizerMetadata
        let bpe: BPETokenizer
        do {
            vocabulary = try TokenizerMetadata(gguf: GGUFFile(path: tokenizer))
            bpe = try vocabulary.makeTokenizer()
        } catch {
            throw CLIError("cannot read a tokenizer from \(tokenizer): \(error)")
        }
        func loader(_ paths: [String], seed: UInt64) throws -> WindowLoader {
            do {
                return try WindowLoader(shards: paths.map { try TokenShard(path: $0) }, tokenizer: bpe, length: context + 1,
                                        seed: seed, fimRate: fimRate, spmRate: spmRate)
            } catch {
                throw CLIError("cannot use \(paths.joined(separator: ", ")): \(error)")
            }
        }
        let training = try loader(data, seed: seed)
        let heldOut = evalData.isEmpty ? nil : try loader(evalData, seed: 12_345)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let checkpoint = out + "/" + Checkpoint.fileName, csvPath = out + "/loss.csv", svgPath = out + "/loss.svg"

        let trainer: Trainer
        var log = LossLog()
        if resume {
            guard FileManager.default.fileExists(atPath: checkpoint) else { throw CLIError("--resume: no checkpoint at \(checkpoint)") }
            trainer = try Trainer(resumingFrom: checkpoint, data: training, threads: threads, totalSteps: steps)
            guard trainer.model.config.vocabularySize == vocabulary.tokens.count else {
                throw CLIError("the checkpoint's vocabulary (\(trainer.model.config.vocabularySize)) differs from \(tokenizer)'s")
            }
            if let text = try? String(contentsOfFile: csvPath, encoding: .utf8) { log = LossLog(csv: text, upToStep: trainer.step) }
            printError("resuming at step \(trainer.step) of \(steps)")
        } else {
            let config = try shape(vocabularySize: vocabulary.tokens.count)
            trainer = try Trainer(config: config, tiedOutput: tiedOutput, data: training, options: options, threads: threads)
            printError("training \(config) — \(formatCount(trainer.model.layout.totalCount)) parameters, \(formatCount(training.totalTokens)) tokens")
        }

        let interrupt = InterruptFlag()
        interrupt.install()
        var progress = ProgressLine(totalSteps: steps, tokensPerStep: trainer.model.tokensPerStep, every: logEvery)
        func save() throws {
            try trainer.saveCheckpoint(to: checkpoint)
            try AtomicFile.write(Array(log.csv.utf8), to: csvPath)
            try AtomicFile.write(Array(LossPlot.svg(LossPlot.series(for: log), title: "understudy train — \(trainer.model.config)").utf8), to: svgPath)
        }
        while trainer.step < steps && !interrupt.isRaised {
            let result = try trainer.trainStep()
            var evalLoss: Float?
            if let heldOut, result.step % evalEvery == 0 || result.step == steps {
                evalLoss = try trainer.evaluate(heldOut, batches: 4)
            }
            log.append(.init(step: result.step, loss: result.loss, learningRate: result.learningRate, gradientNorm: result.gradientNorm,
                             tokensPerSecond: Double(trainer.model.tokensPerStep) / result.seconds, evalLoss: evalLoss))
            progress.update(result, evalLoss: evalLoss)
            if result.step % checkpointEvery == 0 { try save() }
        }
        progress.finish()
        try save()
        if interrupt.isRaised {
            printError("interrupted: saved step \(trainer.step) to \(checkpoint); continue with --resume")
            return
        }
        try trainer.exportGGUF(to: out + "/model.gguf", tokenizer: vocabulary, name: "understudy-\(trainer.model.config.dim)x\(trainer.model.config.layers)")
        printError("wrote \(out)/model.gguf, \(checkpoint), \(csvPath), \(svgPath)")
    }

    /// Times `steps` steps (after one warm-up step) on random tokens.
    func runBenchmark(steps: Int) throws {
        let vocabularySize = try tokenizer.map { try TokenizerMetadata(gguf: GGUFFile(path: $0)).tokens.count } ?? vocab
        let config = try shape(vocabularySize: vocabularySize)
        var rng = SplitMix64(seed: seed)
        let tokens = (0..<100_000).map { _ in Int32(rng.next() % UInt64(vocabularySize)) }
        let data = try TokenWindowSampler(tokens: tokens, seed: seed, sequence: context)
        let trainer = try Trainer(config: config, tiedOutput: tiedOutput, data: data, options: options, threads: threads)
        printError("benchmark: \(config), \(formatCount(trainer.model.layout.totalCount)) parameters, B=\(batch) T=\(context), \(threads) threads")
        _ = try trainer.trainStep()
        var seconds = 0.0, best = Double.infinity
        for _ in 0..<steps {
            let r = try trainer.trainStep()
            seconds += r.seconds
            best = min(best, r.seconds)
            printError(String(format: "step %d: loss %.4f, %.3f s", r.step, r.loss, r.seconds))
        }
        let speed = Double(steps * trainer.model.tokensPerStep) / seconds
        // The best step is reported too: on a shared machine it is the least disturbed measurement.
        print(String(format: "%.0f tokens/s (%.3f s/step, %.1f GFLOP/s at 6·params·tokens); best step %.0f tokens/s", speed,
                     seconds / Double(steps), 6 * Double(trainer.model.layout.totalCount) * speed / 1e9,
                     Double(trainer.model.tokensPerStep) / best))
    }
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
