import Model

/// Sparse teacher targets for a student's training windows, read from file-order teacher passes
/// (`TeacherPass`): the distillation of a teacher without FIM.
///
/// A student position is matched to a teacher position when both predict the same next token from the
/// same text: the student's input token ends at byte e of a document, its next token starts there, and
/// the teacher's tokenization of that document also has a token ending at e followed by that same token.
/// That holds for plain windows and for the prefix and middle of a FIM example (their marker tokens stand
/// for the text before the piece); suffix tokens, and the rare places where the two tokenizations cut the
/// text differently, get no teacher target (cross-entropy only). The student's vocabulary is the teacher's
/// or a subset of it (`TokenizerMetadata.teacherTokenIDs`); sampled teacher tokens outside it are dropped.
///
/// With `suffixMarkers` (the student's `<fim_suffix>` and end-of-text ids), positions after a
/// `<fim_suffix>` of the window, up to the example's end, get none either: there the student has read
/// the suffix, which the teacher never saw, so the teacher's prefix-only distribution is less informed
/// than the true token. Only plain text keeps its targets then.
///
/// With `middleTargets` false, positions that predict a token of a FIM example's middle get none: the
/// middle is what a completion writes, and there the teacher's guess ignores the suffix the student has
/// read; the prefix (context the teacher saw the same way) keeps its targets.
public final class TeacherPassTargets: @unchecked Sendable {
    public let samples: Int
    public let temperature: Float
    /// The student's `<fim_suffix>` and end-of-text ids when FIM pieces get no targets; nil: they do.
    public let suffixMarkers: (suffix: Int32, end: Int32)?
    /// Whether positions predicting a FIM middle's tokens get targets.
    public let middleTargets: Bool
    /// Per loader shard, the documents the passes cover, by document index.
    private let documents: [[Int: Covered]]
    private let studentToTeacher: [Int32]
    private let teacherToStudent: [Int32]

    struct Covered {
        let pass: TeacherPassDocument
        /// Byte end of each teacher token in the document's text.
        let ends: [Int32]
    }

    /// `passes[i]` covers shard i of the student's loader (nil: none); `teacherTokens` are the teacher's token
    /// bytes by id; `studentToTeacher` maps student ids to teacher ids (-1: no teacher token).
    public init(passes: [TeacherPass?], teacherTokenBytes: (Int32) -> [UInt8], teacherVocabularySize: Int,
                studentToTeacher: [Int32], suffixMarkers: (suffix: Int32, end: Int32)? = nil, middleTargets: Bool = true) throws {
        self.suffixMarkers = suffixMarkers
        self.middleTargets = middleTargets
        let present = passes.compactMap { $0 }
        guard let first = present.first else { throw DistillationError.invalidSettings("no teacher pass covers any --data shard") }
        for pass in present {
            guard pass.settings.samples == first.settings.samples, pass.settings.temperature == first.settings.temperature,
                  pass.teacherFingerprint == first.teacherFingerprint else {
                throw DistillationError.invalidSettings("the teacher passes \(first.directory) and \(pass.directory) differ in teacher, samples or temperature")
            }
            guard pass.teacherVocabularySize == teacherVocabularySize else {
                throw DistillationError.invalidSettings("\(pass.directory) was made by a teacher of \(pass.teacherVocabularySize) tokens, not \(teacherVocabularySize)")
            }
        }
        samples = first.settings.samples
        temperature = first.settings.temperature
        var lengths = [Int32](repeating: 0, count: teacherVocabularySize)
        for id in 0..<teacherVocabularySize { lengths[id] = Int32(teacherTokenBytes(Int32(id)).count) }
        documents = try passes.map { pass in
            guard let pass else { return [:] }
            var covered: [Int: Covered] = [:]
            for (index, document) in try pass.load() {
                var end: Int32 = 0
                let ends = document.tokens.map { token in
                    end += token >= 0 && Int(token) < lengths.count ? lengths[Int(token)] : 0
                    return end
                }
                covered[index] = Covered(pass: document, ends: ends)
            }
            return covered
        }
        self.studentToTeacher = studentToTeacher
        var inverse = [Int32](repeating: -1, count: teacherVocabularySize)
        for (student, teacher) in studentToTeacher.enumerated() where teacher >= 0 && Int(teacher) < teacherVocabularySize {
            inverse[Int(teacher)] = Int32(student)
        }
        teacherToStudent = inverse
    }

    /// Per loader shard, the documents with teacher targets (the loader draws its windows from these).
    public var coveredDocuments: [[Int]] { documents.map { $0.keys.sorted() } }

    /// Teacher positions covered, over all shards.
    public var coveredPositions: Int { documents.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.pass.tokens.count - 1 } } }

    /// The targets of the first `sequence` positions of a window (`tokens` has at least sequence + 1 tokens,
    /// `sources` as many): position j predicts tokens[j + 1]; an empty row means no teacher target.
    public func targets(tokens: [Int32], sources: [TokenSource?], sequence: Int) -> [[TeacherProbability]] {
        // Per position: whether the window showed the student a FIM suffix the position's example goes on from.
        var readAhead = [Bool](repeating: false, count: sequence)
        if let suffixMarkers {
            var inSuffixedExample = false
            for j in 0..<sequence {
                if tokens[j] == suffixMarkers.suffix { inSuffixedExample = true }
                if tokens[j] == suffixMarkers.end { inSuffixedExample = false }
                readAhead[j] = inSuffixedExample
            }
        }
        return (0..<sequence).map { j in
            guard !readAhead[j], let here = sources[j], let next = sources[j + 1], middleTargets || !next.isMiddle,
                  here.shard == next.shard, here.document == next.document,
                  next.start == here.end, next.end > next.start, here.end > 0,
                  let covered = documents[here.shard][here.document] else { return [] }
            let teacherNext = studentToTeacher[Int(tokens[j + 1])]
            // Positions 0..<m−1 predict a token; their byte ends strictly increase (every text token has a byte).
            let ends = covered.ends, positions = ends.count - 1
            var low = 0, high = positions
            while low < high {
                let mid = (low + high) / 2
                if ends[mid] < Int32(here.end) { low = mid + 1 } else { high = mid }
            }
            guard low < positions, ends[low] == Int32(here.end), covered.pass.tokens[low + 1] == teacherNext else { return [] }
            let scale = 1 / Float(samples)
            return covered.pass.samples(at: low).compactMap { sample in
                let student = teacherToStudent[Int(sample.token)]
                return student < 0 ? nil : TeacherProbability(token: student, probability: Float(sample.count) * scale)
            }
        }
    }
}
