import Foundation
import Model

/// How often each token of a tokenizer occurs in its encoding of corpus text: what `VocabularySubset`
/// ranks a teacher's tokens by.
public enum TokenFrequencies {
    /// Adds to `counts` (one slot per token of `tokenizer`) the tokens of every document text of `shard`,
    /// as `tokenizer` encodes it; the shard's own tokens, from whatever tokenizer made it, are not read.
    public static func count(_ shard: TokenShard, tokenizer: BPETokenizer, threads: Int, into counts: inout [Int]) {
        precondition(counts.count == tokenizer.vocabularySize, "one count per token")
        let vocabularySize = tokenizer.vocabularySize
        let partials = shard.mapDocuments(threads: threads, initial: { [Int](repeating: 0, count: vocabularySize) }) { local, text in
            for id in tokenizer.encode(bytes: text) { local[Int(id)] += 1 }
        }
        for local in partials {
            for (id, n) in local.enumerated() where n > 0 { counts[id] += n }
        }
    }
}

/// How closely a student tokenizer reproduces its teacher's tokenization of the same documents.
public struct TokenizationAgreement: Sendable, Equatable {
    public var documents = 0
    /// Documents whose student encoding, in teacher ids, is exactly the teacher's.
    public var identicalDocuments = 0
    public var teacherTokens = 0
    public var studentTokens = 0
    /// Teacher tokens the student reproduces: a student token with the same bytes at the same offset.
    public var matchedTokens = 0

    public init() {}

    /// Teacher tokens the student splits or joins differently.
    public var differingTokens: Int { teacherTokens - matchedTokens }

    /// Adds one document's two encodings; `teacherIDs` maps student ids to the teacher's (-1: none).
    public mutating func add(teacher: [Int32], student: [Int32], teacherIDs: [Int32],
                             teacherLength: (Int32) -> Int, studentLength: (Int32) -> Int) {
        documents += 1
        teacherTokens += teacher.count
        studentTokens += student.count
        if student.count == teacher.count && zip(student, teacher).allSatisfy({ teacherIDs[Int($0)] == $1 }) {
            identicalDocuments += 1
            matchedTokens += teacher.count
            return
        }
        // Walk both token streams by byte offset; a teacher token matches when a student token starts
        // where it starts and is as long (same bytes, so the same text and teacher id).
        var i = 0, j = 0, a = 0, b = 0
        while i < teacher.count && j < student.count {
            if a == b {
                let la = teacherLength(teacher[i]), lb = studentLength(student[j])
                if la == lb { matchedTokens += 1 }
                a += la; b += lb; i += 1; j += 1
            } else if a < b {
                a += teacherLength(teacher[i]); i += 1
            } else {
                b += studentLength(student[j]); j += 1
            }
        }
    }

    /// Combines the counts of two parts of a corpus.
    public mutating func add(_ other: TokenizationAgreement) {
        documents += other.documents
        identicalDocuments += other.identicalDocuments
        teacherTokens += other.teacherTokens
        studentTokens += other.studentTokens
        matchedTokens += other.matchedTokens
    }

    /// Encodes every document text of `shard` with both tokenizers and compares them.
    public static func measure(_ shard: TokenShard, teacher: BPETokenizer, student: BPETokenizer,
                               teacherIDs: [Int32], threads: Int) -> TokenizationAgreement {
        precondition(teacherIDs.count == student.vocabularySize, "one teacher id per student token")
        let teacherLengths = (0..<teacher.vocabularySize).map { teacher.tokenBytes(Int32($0)).count }
        let studentLengths = (0..<student.vocabularySize).map { student.tokenBytes(Int32($0)).count }
        let partials = shard.mapDocuments(threads: threads, initial: { TokenizationAgreement() }) { local, text in
            local.add(teacher: teacher.encode(bytes: text), student: student.encode(bytes: text), teacherIDs: teacherIDs,
                      teacherLength: { teacherLengths[Int($0)] }, studentLength: { studentLengths[Int($0)] })
        }
        var total = TokenizationAgreement()
        for part in partials { total.add(part) }
        return total
    }
}

extension TokenShard {
    /// Runs `body` over every document text on `threads` workers (each takes every threads-th document),
    /// each worker folding into its own `initial()` value; returns the workers' values in worker order.
    func mapDocuments<T: Sendable>(threads: Int, initial: @Sendable () -> T,
                                   _ body: @Sendable (inout T, [UInt8]) -> Void) -> [T] {
        let workers = min(max(1, threads), max(1, documentCount))
        let results = WorkerResults<T>(count: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var local = initial()
            for i in stride(from: worker, to: documentCount, by: workers) { body(&local, text(ofDocument: i)) }
            results.set(worker, local)
        }
        return results.values.map { $0! }
    }
}

/// Slots each worker fills at its own index; no two workers write the same slot.
private final class WorkerResults<T>: @unchecked Sendable {
    private(set) var values: [T?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) {
        lock.lock()
        values[i] = value
        lock.unlock()
    }
}
