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
        each document becomes a fill-in-the-middle example with probability --fim-rate. \
        Under `mpirun -np N` (Open MPI, loaded at run time) the N ranks train as one process with a batch of N × --batch: \
        each computes its --batch rows of every step and the gradients are averaged before AdamW; rank 0 writes --out \
        (Sources/Training/Trainer/README.md, "Several processes or machines").
        """)

    @OptionGroup var training: TrainingArguments
    @Option(help: "Only measure speed: run this many steps on random tokens (vocabulary --vocab) and print tokens/s.") var benchmark: Int?
    @Option(help: "Vocabulary size for --benchmark without --tokenizer.") var vocab = 8192

    func run() throws {
        try TrainingRun.inProcessGroup { group in
            if let benchmark { return try runBenchmark(steps: benchmark, group: group) }
            let run = try TrainingRun(arguments: training, command: "train", group: group)
            let (trainer, log) = try run.makeTrainer(distillation: nil)
            try run.loop(trainer, log: log, step: { try trainer.trainStep() })
        }
    }

    /// Times `steps` steps (after one warm-up step) on random tokens; under mpirun also the share of the
    /// step spent summing gradients over the ranks.
    func runBenchmark(steps: Int, group: ProcessGroup) throws {
        let t = training
        let vocabularySize = try t.tokenizer.map { try TokenizerMetadata(gguf: GGUFFile(path: $0)).tokens.count } ?? vocab
        let config = try t.shape(vocabularySize: vocabularySize)
        var rng = SplitMix64(seed: t.seed)
        let tokens = (0..<100_000).map { _ in Int32(rng.next() % UInt64(vocabularySize)) }
        let data = try TokenWindowSampler(tokens: tokens, seed: t.seed, sequence: t.context)
        let trainer = try Trainer(config: config, tiedOutput: t.tiedOutput, data: data, options: t.options(ranks: group.size),
                                  threads: t.threads, group: group)
        let say = { (text: String) in if group.isRoot { printError(text) } }
        say("benchmark: \(config), \(formatCount(trainer.model.layout.totalCount)) parameters, B=\(trainer.options.batch) T=\(t.context), "
            + "\(t.threads) threads" + (group.size > 1 ? " per rank, \(group.size) ranks" : ""))
        _ = try trainer.trainStep()
        var seconds = 0.0, exchange = 0.0, best = Double.infinity, fastestExchange = Double.infinity
        for _ in 0..<steps {
            let r = try trainer.trainStep()
            seconds += r.seconds
            exchange += r.exchangeSeconds
            fastestExchange = min(fastestExchange, r.exchangeSeconds)
            best = min(best, r.seconds)
            say(String(format: "step %d: loss %.4f, %.3f s", r.step, r.loss, r.seconds))
        }
        let alone = try group.size > 1 ? timeAllreduce(count: trainer.model.layout.totalCount, group: group) : 0
        guard group.isRoot else { return }
        let speed = Double(steps * trainer.tokensPerStep) / seconds
        // The best step is reported too: on a shared machine it is the least disturbed measurement.
        var line = String(format: "%.0f tokens/s (%.3f s/step, %.1f GFLOP/s at 6·params·tokens); best step %.0f tokens/s", speed,
                          seconds / Double(steps), 6 * Double(trainer.model.layout.totalCount) * speed / 1e9,
                          Double(trainer.tokensPerStep) / best)
        if group.size > 1 {
            // The exchange includes waiting for the slowest rank; its fastest step is closest to the transfer alone.
            let bytes = 4 * Double(trainer.model.layout.totalCount)
            line += String(format: "; allreduce %.1f%% of the step (%.4f s/step, fastest %.4f s) on %.1f MB of gradients",
                           100 * exchange / seconds, exchange / Double(steps), fastestExchange, bytes / 1e6)
            // Bus bandwidth as NCCL counts it: what each rank's link carries in a ring allreduce, 2·(N−1)/N of the buffer.
            line += String(format: "; alone %.4f s (%.2f GB/s bus bandwidth)", alone,
                           2 * Double(group.size - 1) / Double(group.size) * bytes / alone / 1e9)
        }
        print(line)
    }

    /// The best of five allreduces of `count` floats with the ranks lined up first, so that no rank's
    /// compute is counted: what the network (here shared memory) alone costs per step.
    private func timeAllreduce(count: Int, group: ProcessGroup) throws -> Double {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        var best = Double.infinity
        for _ in 0..<5 {
            _ = try group.any(false)
            let start = DispatchTime.now().uptimeNanoseconds
            try group.sum(buffer, count: count)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }
}
