import Foundation
import Kernels
import Model
import TestFixtures
import Testing
@testable import Training

/// A synthetic corpus for the trainer tests.
enum TrainerFixtures {
    /// A repetitive synthetic "corpus": a few short patterns, so a tiny model can learn it fast.
    static func syntheticTokens(count: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        let patterns: [[Int32]] = (0..<4).map { p in (0..<6).map { Int32((p * 7 + $0 * 3) % vocabulary) } }
        var out: [Int32] = []
        while out.count < count { out += patterns[Int(rng.next() % 4)] }
        return Array(out.prefix(count))
    }
}

@Suite struct TrainerTests {
    @Test(arguments: [false, true])
    func trainingForwardGivesTheInferenceLogits(tied: Bool) throws {
        let config = LlamaConfig(vocabularySize: 256, dim: 32, hiddenDim: 48, layers: 2, heads: 4, kvHeads: 2, contextLength: 16)
        let model = try LlamaTrainingModel(config: config, tiedOutput: tied, batch: 2, sequence: 8, threads: 2)
        model.loadParameters(RandomLlamaWeights(config: config, seed: 5, scale: 0.3).tensor)
        let path = Fixtures.temporaryDirectory() + "/model.gguf"
        try LlamaFileWriter.write(config: config, tokenizer: Fixtures.byteVocabulary(specials: false), tiedOutput: tied, matrixType: .f32,
                                  name: "test", tensor: { model.tensor($0) }, to: path)
        let inputs: [Int32] = [3, 200, 17, 17, 99, 0, 255, 4, 8, 8, 8, 100, 101, 102, 1, 77]
        let training = try model.logits(inputs: inputs)
        let loaded = try LlamaModel(path: path)
        var worst: Float = 0
        for b in 0..<2 {
            let context = InferenceContext(model: loaded, threads: 1)
            let rows = try context.appendReturningAllLogits(Array(inputs[(b * 8)..<(b * 8 + 8)]))
            for t in 0..<8 { for v in 0..<256 { worst = max(worst, abs(rows[t][v] - training[(b * 8 + t) * 256 + v])) } }
        }
        // The inference cache stores keys and values as half floats (relative rounding 2^-11); the training
        // forward keeps them in float.
        #expect(worst < 2e-2, "largest logit difference \(worst)")
    }

    @Test func scheduleWarmsUpThenDecaysToTheFloor() {
        let s = LearningRateSchedule(peak: 1e-3, floor: 1e-4, warmupSteps: 10, totalSteps: 110)
        #expect(abs(s.rate(at: 0) - 1e-4) < 1e-9)
        #expect(abs(s.rate(at: 9) - 1e-3) < 1e-9)
        #expect(abs(s.rate(at: 10) - 1e-3) < 1e-9)
        #expect(abs(s.rate(at: 60) - 5.5e-4) < 1e-8)
        #expect(abs(s.rate(at: 110) - 1e-4) < 1e-9)
        #expect(s.rate(at: 30) > s.rate(at: 31))
    }

    @Test func adamWMatchesAScalarReferenceWithClippingAndDecayOnMatricesOnly() {
        let config = LlamaConfig(vocabularySize: 4, dim: 2, hiddenDim: 2, layers: 1, heads: 1, contextLength: 4)
        let layout = ParameterLayout(config: config, tiedOutput: true)
        let n = layout.totalCount
        let optimizer = AdamW(layout: layout, weightDecay: 0.5, maxGradientNorm: 1)
        var params = FiniteDifference.randomArray(n, seed: 1)
        let grads = FiniteDifference.randomArray(n, seed: 2, scale: 3)
        var refParams = params.map(Double.init)
        var m = [Double](repeating: 0, count: n), v = [Double](repeating: 0, count: n)
        let pool = ThreadPool(threads: 2)
        let norm = grads.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(norm > 1)
        for t in 1...3 {
            optimizer.step(parameters: &params, gradients: grads, lr: 0.01, pool: pool)
            for entry in layout.entries {
                for i in entry.offset..<(entry.offset + entry.count) {
                    let g = Double(grads[i]) / norm
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.95 * v[i] + 0.05 * g * g
                    let mHat = m[i] / (1 - pow(0.9, Double(t))), vHat = v[i] / (1 - pow(0.95, Double(t)))
                    refParams[i] -= 0.01 * (mHat / (vHat.squareRoot() + 1e-8) + (entry.isMatrix ? 0.5 : 0) * refParams[i])
                }
            }
        }
        for i in 0..<n { #expect(abs(Double(params[i]) - refParams[i]) < 1e-5) }
    }

    static func tinyOptions(steps: Int) -> TrainingOptions {
        TrainingOptions(batch: 4, sequence: 16, schedule: LearningRateSchedule(peak: 3e-3, floor: 3e-4, warmupSteps: 10, totalSteps: steps),
                        weightDecay: 0.01, maxGradientNorm: 1, seed: 11)
    }

    @Test func corpusWindowsBecomeShiftedInputsAndTargets() throws {
        var writer = TokenShardWriter(vocabularySize: 32, endOfText: 0)
        for d in 0..<20 {
            let tokens = (0..<15).map { Int32(1 + ($0 + d) % 31) } + [0]
            try writer.append(text: Array(String(repeating: "x", count: 15).utf8), tokens: tokens)
        }
        let path = Fixtures.temporaryDirectory() + "/train.shard"
        try writer.write(to: path)
        let loader = try WindowLoader(shards: [TokenShard(path: path)], tokenizer: nil, length: 17, seed: 3, fimRate: 0)
        let (inputs, targets) = loader.batch(step: 2, batch: 3, sequence: 16)
        for b in 0..<3 {
            let window = loader.window(at: 2 * 3 + b)
            #expect(Array(inputs[(b * 16)..<(b * 16 + 16)]) == Array(window[0..<16]))
            #expect(Array(targets[(b * 16)..<(b * 16 + 16)]) == Array(window[1..<17]))
        }
        // A trainer fed by the loader learns from it like from any other source.
        let trainer = try Trainer(config: Self.tinyConfig, tiedOutput: false, data: loader, options: Self.tinyOptions(steps: 60), threads: 2)
        let first = try trainer.trainStep().loss
        var last = first
        for _ in 0..<59 { last = try trainer.trainStep().loss }
        #expect(last < first * 0.5)
    }

    static func sampler(_ tokens: [Int32]) throws -> TokenWindowSampler {
        try TokenWindowSampler(tokens: tokens, seed: 11, sequence: 16)
    }

    static let tinyConfig = LlamaConfig(vocabularySize: 32, dim: 32, hiddenDim: 64, layers: 2, heads: 4, kvHeads: 2, contextLength: 16)

    @Test func resumeFromACheckpointGivesTheIdenticalLossSequence() throws {
        let tokens = TrainerFixtures.syntheticTokens(count: 4_000, vocabulary: 32, seed: 1)
        let steps = 10
        let straight = try Trainer(config: Self.tinyConfig, tiedOutput: false, data: try Self.sampler(tokens), options: Self.tinyOptions(steps: steps), threads: 2)
        let reference = try (0..<steps).map { _ in try straight.trainStep().loss }

        let first = try Trainer(config: Self.tinyConfig, tiedOutput: false, data: try Self.sampler(tokens), options: Self.tinyOptions(steps: steps), threads: 2)
        var losses = try (0..<(steps / 2)).map { _ in try first.trainStep().loss }
        let path = Fixtures.temporaryDirectory() + "/" + Checkpoint.fileName
        try first.saveCheckpoint(to: path)
        let resumed = try Trainer(resumingFrom: path, data: try Self.sampler(tokens), threads: 2)
        #expect(resumed.step == steps / 2)
        losses += try (0..<(steps / 2)).map { _ in try resumed.trainStep().loss }
        #expect(losses == reference)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp-\(getpid())"))
    }

    @Test func lossFallsClearlyOnATinyCorpus() throws {
        let tokens = TrainerFixtures.syntheticTokens(count: 8_000, vocabulary: 32, seed: 2)
        let trainer = try Trainer(config: Self.tinyConfig, tiedOutput: false, data: try Self.sampler(tokens), options: Self.tinyOptions(steps: 150), threads: 2)
        var losses: [Float] = []
        for _ in 0..<150 { losses.append(try trainer.trainStep().loss) }
        let start = losses.prefix(5).reduce(0, +) / 5, end = losses.suffix(10).reduce(0, +) / 10
        #expect(abs(start - log(32)) < 0.3, "initial loss \(start) should be near ln 32")
        // The patterns are deterministic after their first token, so most of the entropy can be learned.
        #expect(end < 1.0, "loss fell from \(start) to only \(end)")
    }
}

@Suite struct TrainerLogTests {
    @Test func lossLogRoundTripsThroughCSVAndDropsRowsPastTheCheckpoint() {
        var log = LossLog()
        for s in 1...5 {
            log.append(.init(step: s, loss: Float(6 - s), learningRate: 1e-3, gradientNorm: 0.5, tokensPerSecond: 100,
                             evalLoss: s == 4 ? 2.5 : nil))
        }
        let read = LossLog(csv: log.csv, upToStep: 4)
        #expect(read.rows == Array(log.rows.prefix(4)))
        #expect(log.csv.hasPrefix(LossLog.header + "\n1,5.0,0.001,0.5,100.0,\n"))
    }

    @Test func plotHasOnePointPerStepAxesAndNiceTicks() {
        var log = LossLog()
        for s in 1...40 { log.append(.init(step: s, loss: 5 / Float(s), learningRate: 0, gradientNorm: 0, tokensPerSecond: 0, evalLoss: s % 10 == 0 ? 1 : nil)) }
        let series = LossPlot.series(for: log)
        #expect(series.map(\.points.count) == [40, 40, 4])
        let svg = LossPlot.svg(series, title: "a < b")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("a &lt; b"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
        let first = svg.components(separatedBy: "points=\"")[1].split(separator: "\"")[0]
        #expect(first.split(separator: " ").count == 40)
        #expect(LossPlot.ticks(0, 1) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0])
        #expect(LossPlot.ticks(1, 40) == [10, 20, 30, 40])
    }
}
