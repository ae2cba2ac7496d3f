import Foundation

/// The teacher's targets for each training step: the full logits from a live forward pass, or K
/// sampled tokens per position, taken from the teacher cache when it holds the step and otherwise
/// sampled from a live forward pass (and stored).
///
/// In a data-parallel job each rank runs the teacher on its own rows. The cache holds whole steps and
/// lives with rank 0: rank 0 looks each step up for all ranks and hands out their rows, or collects the
/// rows the ranks sampled and stores the step, so a cache filled by N ranks serves any other number.
public final class TeacherTargetProvider: @unchecked Sendable {
    public let teacher: Teacher
    public let record: DistillationRecord
    /// The cache (rank 0 only).
    public let cache: TeacherCache?
    public let group: ProcessGroup
    /// Whether the run uses a cache (on every rank, so that all take part in its exchanges).
    private let cached: Bool
    /// Seeds the samples (the run's seed).
    public let seed: UInt64
    /// Steps for which the teacher ran, steps answered by the cache, and seconds spent in the teacher.
    public private(set) var teacherRuns = 0, cacheHits = 0
    public private(set) var teacherSeconds: Double = 0

    /// Targets from `teacher` with `record`'s temperature and sample count; `batch` is the whole step's
    /// (over all ranks of `group`); `cacheDirectory` needs sampled targets (`record.teacherSamples`).
    public init(teacher: Teacher, record: DistillationRecord, seed: UInt64, batch: Int, sequence: Int,
                cacheDirectory: String?, group: ProcessGroup = .single) throws {
        try record.validate()
        self.teacher = teacher
        self.record = record
        self.seed = seed
        self.group = group
        cached = cacheDirectory != nil
        if cacheDirectory != nil && record.teacherSamples == nil {
            throw DistillationError.invalidSettings("a teacher cache stores sampled targets; this run uses the full teacher logits")
        }
        if let cacheDirectory, let samples = record.teacherSamples, group.isRoot {
            let key = TeacherCacheKey(vocabularySize: teacher.model.config.vocabularySize, batch: batch, sequence: sequence,
                                      samples: samples, temperature: record.temperature, seed: seed,
                                      teacherFingerprint: try TeacherCache.fingerprint(path: teacher.path))
            cache = try TeacherCache(directory: cacheDirectory, key: key)
        } else {
            cache = nil
        }
    }

    /// The targets for rows `rows` of batch `step`, whose inputs are `inputs` ([rows.count·sequence]).
    public func targets(step: Int, inputs: [Int32], rows: Range<Int>, sequence: Int) throws -> TeacherTargets {
        guard let samples = record.teacherSamples else {
            return .logits(try timed { try teacher.logits(inputs: inputs, batch: rows.count, sequence: sequence) })
        }
        func sample() throws -> [[SampledToken]] {
            try timed {
                try teacher.sampledTargets(inputs: inputs, batch: rows.count, sequence: sequence, temperature: record.temperature,
                                           samples: samples, seed: seed, step: step, firstRow: rows.lowerBound)
            }
        }
        let mine: [[SampledToken]]
        if !cached {
            mine = try sample()
        } else if group.size == 1 {
            if let found = try cache!.lookup(step: step, inputs: inputs) {
                cacheHits += 1
                mine = found
            } else {
                mine = try sample()
                try cache!.store(step: step, inputs: inputs, targets: mine)
            }
        } else {
            mine = try sharedCacheTargets(step: step, inputs: inputs, sample: sample)
        }
        return .sparse(mine.map { TeacherSampling.probabilities($0, samples: samples) })
    }

    /// This rank's rows of step `step` through rank 0's cache: the step's inputs go to rank 0, which looks the
    /// step up; on a hit each rank receives its rows, on a miss each rank samples them and rank 0 stores the step.
    private func sharedCacheTargets(step: Int, inputs: [Int32], sample: () throws -> [[SampledToken]]) throws -> [[SampledToken]] {
        let positionsPerRank = inputs.count
        let allInputs = try group.gather(inputs.withUnsafeBytes { Array($0) }).flatMap { piece in
            piece.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        }
        let found = group.isRoot ? try cache!.lookup(step: step, inputs: allInputs) : nil
        if try group.any(found != nil) {
            cacheHits += 1
            let pieces = found.map { all in
                (0..<group.size).map { r in Self.encode(all[(r * positionsPerRank)..<((r + 1) * positionsPerRank)]) }
            } ?? []
            return try Self.decode(try group.scatter(pieces))
        }
        let mine = try sample()
        let gathered = try group.gather(Self.encode(mine[...]))
        if group.isRoot { try cache!.store(step: step, inputs: allInputs, targets: try gathered.flatMap(Self.decode)) }
        return mine
    }

    /// Positions' samples as bytes for the exchange between ranks: per position a UInt16 count of tokens,
    /// then (UInt32 token, UInt16 count) per token.
    static func encode(_ positions: ArraySlice<[SampledToken]>) -> [UInt8] {
        var out = ByteWriter()
        for position in positions {
            out.u16(UInt16(position.count))
            for s in position {
                out.u32(UInt32(bitPattern: s.token))
                out.u16(s.count)
            }
        }
        return out.bytes
    }

    /// The positions `encode` wrote.
    static func decode(_ bytes: [UInt8]) throws -> [[SampledToken]] {
        var r = ByteReader(bytes: bytes, path: "teacher targets from another rank")
        var positions: [[SampledToken]] = []
        while r.offset < bytes.count {
            let n = Int(try r.u16())
            positions.append(try (0..<n).map { _ in SampledToken(token: Int32(bitPattern: try r.u32()), count: try r.u16()) })
        }
        return positions
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
