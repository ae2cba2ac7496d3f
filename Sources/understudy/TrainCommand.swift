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

    @OptionGroup var training: TrainingArguments
    @Option(help: "Only measure speed: run this many steps on random tokens (vocabulary --vocab) and print tokens/s.") var benchmark: Int?
    @Option(help: "Vocabulary size for --benchmark without --tokenizer.") var vocab = 8192

    func run() throws {
        if let benchmark { return try runBenchmark(steps: benchmark) }
        let run = try TrainingRun(arguments: training, command: "train")
        let (trainer, log) = try run.makeTrainer(distillation: nil)
        try run.loop(trainer, log: log, step: { try trainer.trainStep() })
    }

    /// Times `steps` steps (after one warm-up step) on random tokens.
    func runBenchmark(steps: Int) throws {
        let t = training
        let vocabularySize = try t.tokenizer.map { try TokenizerMetadata(gguf: GGUFFile(path: $0)).tokens.count } ?? vocab
        let config = try t.shape(vocabularySize: vocabularySize)
        var rng = SplitMix64(seed: t.seed)
        let tokens = (0..<100_000).map { _ in Int32(rng.next() % UInt64(vocabularySize)) }
        let data = try TokenWindowSampler(tokens: tokens, seed: t.seed, sequence: t.context)
        let trainer = try Trainer(config: config, tiedOutput: t.tiedOutput, data: data, options: t.options(), threads: t.threads)
        printError("benchmark: \(config), \(formatCount(trainer.model.layout.totalCount)) parameters, B=\(t.batch) T=\(t.context), \(t.threads) threads")
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
