import Foundation
import Kernels
import Model

/// The teacher of a distillation run: any llama GGUF (quantized allowed) that shares the student's
/// tokenizer, run through the inference path (`InferenceContext`) one batch row at a time.
public final class Teacher: @unchecked Sendable {
    public let path: String
    public let model: LlamaModel
    /// Size of the GGUF file in bytes (recorded in checkpoints to recognise the teacher on resume).
    public let fileBytes: Int
    private let context: InferenceContext
    private let weights: UnsafeMutablePointer<Float>

    /// Opens `path`, checks that its vocabulary equals `studentVocabulary` and that it can read
    /// `sequence` tokens at once; the forward pass uses `threads` threads.
    public init(path: String, studentVocabulary: TokenizerMetadata, sequence: Int, threads: Int) throws {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw DistillationError.teacherUnusable(path: path, reason: "no such file")
        }
        do { model = try LlamaModel(path: path) } catch {
            throw DistillationError.teacherUnusable(path: path, reason: "\(error)")
        }
        try Self.checkVocabulary(teacher: TokenizerMetadata(gguf: model.file), student: studentVocabulary, teacherName: path)
        guard model.config.contextLength >= sequence else {
            throw DistillationError.teacherUnusable(path: path,
                reason: "its context length is \(model.config.contextLength) tokens, the student trains on \(sequence)")
        }
        self.path = path
        fileBytes = size
        context = InferenceContext(model: model, contextSize: sequence, threads: threads, maxBatch: sequence)
        weights = .allocate(capacity: context.pool.threadCount * model.config.vocabularySize)
    }

    deinit { weights.deallocate() }

    /// The file name without its directory.
    public var fileName: String { (path as NSString).lastPathComponent }

    /// Throws unless `teacher` and `student` have the same tokens (same ids, same spellings) and merges.
    public static func checkVocabulary(teacher: TokenizerMetadata, student: TokenizerMetadata, teacherName: String) throws {
        guard teacher.tokens.count == student.tokens.count else {
            throw DistillationError.vocabularyMismatch(teacher: teacherName,
                detail: "the teacher has \(teacher.tokens.count) tokens, the student \(student.tokens.count)")
        }
        if let i = teacher.tokens.indices.first(where: { teacher.tokens[$0] != student.tokens[$0] }) {
            throw DistillationError.vocabularyMismatch(teacher: teacherName,
                detail: "token \(i) is \(teacher.tokens[i].debugDescription) for the teacher, \(student.tokens[i].debugDescription) for the student")
        }
        guard teacher.merges == student.merges else {
            let i = zip(teacher.merges, student.merges).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
                ?? min(teacher.merges.count, student.merges.count)
            throw DistillationError.vocabularyMismatch(teacher: teacherName,
                detail: "the BPE merges differ at rank \(i) (teacher \(teacher.merges.count) merges, student \(student.merges.count))")
        }
    }

    /// The teacher's logits for every position of a batch ([B·T] inputs, batch-major), as [B·T][V].
    public func logits(inputs: [Int32], batch: Int, sequence: Int) throws -> [Float] {
        let vocab = model.config.vocabularySize
        var out = [Float](repeating: 0, count: batch * sequence * vocab)
        try out.withUnsafeMutableBufferPointer { buffer in
            for b in 0..<batch {
                let rows = try rowLogits(inputs: inputs, row: b, sequence: sequence)
                for (t, row) in rows.enumerated() {
                    (buffer.baseAddress! + (b * sequence + t) * vocab).update(from: row, count: vocab)
                }
            }
        }
        return out
    }

    /// For every position of a batch, `samples` tokens drawn from the teacher's softmax(z / temperature),
    /// with generators seeded by (seed, step, position) (see `TeacherSampling.generator`). The inputs are
    /// rows `firstRow`… of the step's batch (a rank's share), and the position counts from the batch's first row,
    /// so a row's samples do not depend on which rank draws them.
    public func sampledTargets(inputs: [Int32], batch: Int, sequence: Int, temperature: Float, samples: Int,
                               seed: UInt64, step: Int, firstRow: Int = 0) throws -> [[SampledToken]] {
        let vocab = model.config.vocabularySize
        var out = [[SampledToken]](repeating: [], count: batch * sequence)
        for b in 0..<batch {
            let rows = try rowLogits(inputs: inputs, row: b, sequence: sequence)
            out.withUnsafeMutableBufferPointer { results in
                context.pool.parallelFor(sequence) { range, thread in
                    let scratch = self.weights + thread * vocab
                    for t in range {
                        let position = b * sequence + t
                        var rng = TeacherSampling.generator(seed: seed, step: step, position: firstRow * sequence + position)
                        results[position] = rows[t].withUnsafeBufferPointer {
                            TeacherSampling.sample(logits: $0.baseAddress!, count: vocab, temperature: temperature,
                                                   samples: samples, rng: &rng, weights: scratch)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Row `row` of the batch run from an empty cache: the logits after each of its `sequence` tokens.
    private func rowLogits(inputs: [Int32], row: Int, sequence: Int) throws -> [[Float]] {
        guard inputs.count >= (row + 1) * sequence else {
            throw DistillationError.teacherUnusable(path: path, reason: "\(inputs.count) input tokens for row \(row) of \(sequence)")
        }
        context.reset()
        do {
            return try context.appendReturningAllLogits(Array(inputs[(row * sequence)..<((row + 1) * sequence)]))
        } catch {
            throw DistillationError.teacherUnusable(path: path, reason: "\(error)")
        }
    }
}
