import Foundation

/// The teacher's targets for each training step: the full logits from a live forward pass, or K
/// sampled tokens per position, taken from the teacher cache when it holds the step and otherwise
/// sampled from a live forward pass (and stored).
public final class TeacherTargetProvider: @unchecked Sendable {
    public let teacher: Teacher
    public let record: DistillationRecord
    public let cache: TeacherCache?
    /// Seeds the samples (the run's seed).
    public let seed: UInt64
    /// Steps for which the teacher ran, steps answered by the cache, and seconds spent in the teacher.
    public private(set) var teacherRuns = 0, cacheHits = 0
    public private(set) var teacherSeconds: Double = 0

    /// Targets from `teacher` with `record`'s temperature and sample count; `cacheDirectory` needs
    /// sampled targets (`record.teacherSamples`).
    public init(teacher: Teacher, record: DistillationRecord, seed: UInt64, batch: Int, sequence: Int,
                cacheDirectory: String?) throws {
        try record.validate()
        self.teacher = teacher
        self.record = record
        self.seed = seed
        if let cacheDirectory {
            guard let samples = record.teacherSamples else {
                throw DistillationError.invalidSettings("a teacher cache stores sampled targets; this run uses the full teacher logits")
            }
            let key = TeacherCacheKey(vocabularySize: teacher.model.config.vocabularySize, batch: batch, sequence: sequence,
                                      samples: samples, temperature: record.temperature, seed: seed,
                                      teacherFingerprint: try TeacherCache.fingerprint(path: teacher.path))
            cache = try TeacherCache(directory: cacheDirectory, key: key)
        } else {
            cache = nil
        }
    }

    /// The targets for batch `step`, whose inputs are `inputs` ([batch·sequence]).
    public func targets(step: Int, inputs: [Int32], batch: Int, sequence: Int) throws -> TeacherTargets {
        guard let samples = record.teacherSamples else {
            return .logits(try timed { try teacher.logits(inputs: inputs, batch: batch, sequence: sequence) })
        }
        if let cached = try cache?.lookup(step: step, inputs: inputs) {
            cacheHits += 1
            return .sparse(cached.map { TeacherSampling.probabilities($0, samples: samples) })
        }
        let sampled = try timed {
            try teacher.sampledTargets(inputs: inputs, batch: batch, sequence: sequence, temperature: record.temperature,
                                       samples: samples, seed: seed, step: step)
        }
        try cache?.store(step: step, inputs: inputs, targets: sampled)
        return .sparse(sampled.map { TeacherSampling.probabilities($0, samples: samples) })
    }

    /// Writes cached steps not yet on disk (call when saving a checkpoint).
    public func flush() throws { try cache?.flush() }

    private func timed<T>(_ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            teacherRuns += 1
            teacherSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return try body()
    }
}
