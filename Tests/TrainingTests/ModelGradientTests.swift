import Foundation
import Kernels
import Model
import Testing
@testable import Training

/// Whole-model gradient checks on a tiny llama: every tensor, a few random entries each.
@Suite struct ModelGradientTests {
    static let config = LlamaConfig(vocabularySize: 13, dim: 8, hiddenDim: 12, layers: 2, heads: 2, kvHeads: 1, contextLength: 8)

    /// A model with random parameters, norm weights scattered around 1 so their gradients are not special.
    static func model(tied: Bool) throws -> LlamaTrainingModel {
        let model = try LlamaTrainingModel(config: config, tiedOutput: tied, batch: 2, sequence: 4, threads: 2)
        let random = RandomLlamaWeights(config: config, seed: 3, scale: 0.4)
        model.loadParameters { name in
            let values = random.tensor(name)
            guard values.allSatisfy({ $0 == 1 }) else { return values }
            return FiniteDifference.randomArray(values.count, seed: UInt64(name.utf8.count), scale: 0.3).map { $0 + 1 }
        }
        return model
    }

    static let inputs: [Int32] = [1, 5, 7, 2, 12, 0, 5, 5]
    static let targets: [Int32] = [5, 7, -1, 3, 0, 5, 5, 9]

    /// Compares analytic gradients with central differences of `loss` at a few entries of every tensor.
    static func checkEveryTensor(_ model: LlamaTrainingModel, loss: () throws -> Float) throws {
        _ = try loss()
        model.backward()
        let analytic = Array(UnsafeBufferPointer(start: model.gradients, count: model.layout.totalCount))
        var rng = SplitMix64(seed: 99)
        let h: Float = 1e-2
        for entry in model.layout.entries {
            var worst: Double = 0
            for _ in 0..<6 {
                let i = entry.offset + Int(rng.next() % UInt64(entry.count))
                let saved = model.parameters[i]
                model.parameters[i] = saved + h
                let plus = try loss()
                model.parameters[i] = saved - h
                let minus = try loss()
                model.parameters[i] = saved
                let numeric = Double(plus - minus) / Double(2 * h)
                let error = abs(numeric - Double(analytic[i])) / (5e-3 + abs(numeric))
                worst = max(worst, error)
            }
            #expect(worst < 0.025, "\(entry.name): worst relative error \(worst)")
        }
    }

    @Test(arguments: [false, true])
    func crossEntropyGradientsMatchFiniteDifferences(tied: Bool) throws {
        let model = try Self.model(tied: tied)
        try Self.checkEveryTensor(model) { try model.forward(inputs: Self.inputs, targets: Self.targets) }
    }

    @Test func distillationGradientsMatchFiniteDifferences() throws {
        let model = try Self.model(tied: false)
        let teacher = FiniteDifference.randomArray(8 * 13, seed: 21, scale: 3)
        let settings = DistillationSettings(alpha: 0.6, temperature: 1.5)
        try Self.checkEveryTensor(model) {
            try model.forward(inputs: Self.inputs, targets: Self.targets, teacher: .logits(teacher), settings: settings)
        }
        let sparse: [[TeacherProbability]] = (0..<8).map { i in
            [TeacherProbability(token: Int32(i), probability: 0.5), TeacherProbability(token: Int32(12 - i), probability: 0.25)]
        }
        try Self.checkEveryTensor(model) {
            try model.forward(inputs: Self.inputs, targets: Self.targets, teacher: .sparse(sparse), settings: settings)
        }
    }

    @Test func ignoredTargetsContributeNothing() throws {
        let model = try Self.model(tied: false)
        let all = try model.forward(inputs: Self.inputs, targets: Self.targets)
        var rows: [Float] = []
        for (i, t) in Self.targets.enumerated() where t >= 0 {
            var only = [Int32](repeating: -1, count: 8)
            only[i] = t
            rows.append(try model.forward(inputs: Self.inputs, targets: only))
        }
        #expect(abs(all - rows.reduce(0, +) / Float(rows.count)) < 1e-5)
    }
}
