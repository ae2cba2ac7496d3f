import Foundation
import Model
import Testing
@testable import Training

@Suite struct DistillSamplingTests {
    static let logits: [Float] = [2.0, 1.5, 1.0, 0.5, 0, -0.5, -1, -2, -3, 0.3, 0.7, -4]

    /// softmax(logits / temperature) in Double.
    static func reference(_ logits: [Float], temperature: Double) -> [Double] {
        let scaled = logits.map { Double($0) / temperature }
        let m = scaled.max()!
        let e = scaled.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func draw(_ logits: [Float], temperature: Float, samples: Int, seed: UInt64, step: Int, position: Int) -> [SampledToken] {
        var rng = TeacherSampling.generator(seed: seed, step: step, position: position)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: logits.count)
        defer { scratch.deallocate() }
        return logits.withUnsafeBufferPointer {
            TeacherSampling.sample(logits: $0.baseAddress!, count: logits.count, temperature: temperature, samples: samples,
                                   rng: &rng, weights: scratch)
        }
    }

    @Test func meanOfSampledProbabilitiesIsTheTeacherDistribution() {
        let k = 8, repetitions = 20_000, temperature: Float = 2
        let p = Self.reference(Self.logits, temperature: 2)
        var mean = [Double](repeating: 0, count: Self.logits.count)
        for r in 0..<repetitions {
            let sampled = Self.draw(Self.logits, temperature: temperature, samples: k, seed: 42, step: r / 100, position: r % 100)
            for pair in TeacherSampling.probabilities(sampled, samples: k) { mean[Int(pair.token)] += Double(pair.probability) }
        }
        for i in mean.indices {
            mean[i] /= Double(repetitions)
            // count/K averages K·R Bernoulli(p) draws: standard error sqrt(p(1−p)/(K·R)); 5σ keeps the test stable.
            let tolerance = 5 * (p[i] * (1 - p[i]) / Double(k * repetitions)).squareRoot() + 1e-6
            #expect(abs(mean[i] - p[i]) < tolerance, "token \(i): sampled mean \(mean[i]), teacher \(p[i]) ± \(tolerance)")
        }
        // Plain top-4, renormalised, is what the samples avoid: its head is far outside the same tolerance.
        let top = p.enumerated().sorted { $0.element > $1.element }.prefix(4)
        let headMass = top.reduce(0) { $0 + $1.element }
        let first = top.first!
        #expect(first.element / headMass - p[first.offset] > 10 * (p[first.offset] / Double(k * repetitions)).squareRoot())
    }

    @Test func drawsAreCountedOncePerTokenInOrderAndSumToK() {
        for position in 0..<50 {
            let sampled = Self.draw(Self.logits, temperature: 1, samples: 32, seed: 7, step: 3, position: position)
            #expect(sampled.reduce(0) { $0 + Int($1.count) } == 32)
            #expect(zip(sampled, sampled.dropFirst()).allSatisfy { $0.token < $1.token })
            let probabilities = TeacherSampling.probabilities(sampled, samples: 32)
            #expect(abs(probabilities.reduce(0) { $0 + $1.probability } - 1) < 1e-6)
        }
    }

    @Test func samplesArePureFunctionsOfSeedStepAndPosition() {
        let a = Self.draw(Self.logits, temperature: 1, samples: 32, seed: 7, step: 3, position: 9)
        #expect(a == Self.draw(Self.logits, temperature: 1, samples: 32, seed: 7, step: 3, position: 9))
        let others = [Self.draw(Self.logits, temperature: 1, samples: 32, seed: 8, step: 3, position: 9),
                      Self.draw(Self.logits, temperature: 1, samples: 32, seed: 7, step: 4, position: 9),
                      Self.draw(Self.logits, temperature: 1, samples: 32, seed: 7, step: 3, position: 10)]
        #expect(others.contains { $0 != a })
    }

    @Test func zeroProbabilityTokensAreNeverDrawnAndLowTemperatureIsArgmax() {
        var logits = Self.logits
        logits[1] = -.infinity
        logits[11] = -.infinity
        for position in 0..<200 {
            let sampled = Self.draw(logits, temperature: 1, samples: 16, seed: 1, step: 0, position: position)
            #expect(!sampled.contains { $0.token == 1 || $0.token == 11 })
        }
        let cold = Self.draw(Self.logits, temperature: 0.01, samples: 16, seed: 1, step: 0, position: 0)
        #expect(cold == [SampledToken(token: 0, count: 16)])
    }
}
