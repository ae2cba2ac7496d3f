/// Why a model cannot draft for another.
public enum SpeculativeError: Error, CustomStringConvertible, Equatable {
    case vocabularyMismatch(draft: String, teacher: String, detail: String)

    public var description: String {
        switch self {
        case .vocabularyMismatch(let draft, let teacher, let detail):
            return "vocabulary mismatch: \(draft) cannot draft for \(teacher): \(detail). A draft model needs the "
                + "teacher's vocabulary, or one cut from it by `understudy tokenizer subset` (which records each "
                + "token's teacher id under \(TokenizerMetadata.teacherTokenIDsKey)); use --draft none to run without one"
        }
    }

    /// What does not fit, without the advice for draft models.
    public var detail: String {
        switch self {
        case .vocabularyMismatch(_, _, let detail): return detail
        }
    }
}

/// How a draft model's token ids translate to the generating (teacher) model's and back: the identity
/// for a model with the same tokens, else the student's `teacherTokenIDs` (a vocabulary cut from the
/// teacher's). Every mapped pair is checked to spell the same bytes.
public struct DraftVocabulary: Sendable {
    /// The teacher id of each draft token, -1 where the teacher lacks it (the student's FIM markers).
    private let teacherIDs: [Int32]
    /// The draft id of each teacher token, -1 where the draft vocabulary lacks it.
    private let draftIDs: [Int32]
    /// Whether both models have the same tokens.
    public let isIdentity: Bool

    /// The map from `draft`'s vocabulary to `teacher`'s, or `SpeculativeError.vocabularyMismatch`.
    public init(draft: LlamaModel, teacher: LlamaModel) throws(SpeculativeError) {
        let draftName = draft.path ?? draft.name, teacherName = teacher.path ?? teacher.name
        var recorded: TokenizerMetadata?
        if draft.tokenizer.tokens != teacher.tokenizer.tokens {
            do { recorded = try TokenizerMetadata(gguf: draft.file) } catch {
                throw .vocabularyMismatch(draft: "\(draftName) (\(draft.tokenizer.vocabularySize) tokens)",
                                          teacher: "\(teacherName) (\(teacher.tokenizer.vocabularySize) tokens)",
                                          detail: "its vocabulary cannot be read: \(error)")
            }
        }
        try self.init(draft: draft.tokenizer, teacherIDs: recorded?.teacherTokenIDs, teacherVocabularySize: recorded?.teacherVocabularySize,
                      teacher: teacher.tokenizer, draftName: draftName, teacherName: teacherName)
    }

    /// The map from the `draft` tokenizer to `teacher`'s: the identity for the same tokens, else
    /// `teacherIDs`, the teacher id of each draft token that `understudy tokenizer subset` recorded
    /// (with `teacherVocabularySize`, the size of the vocabulary it was cut from). The distillation of a
    /// student on a cut vocabulary uses the same map.
    public init(draft d: BPETokenizer, teacherIDs recorded: [Int32]?, teacherVocabularySize recordedSize: Int?,
                teacher t: BPETokenizer, draftName: String, teacherName: String) throws(SpeculativeError) {
        func mismatch(_ detail: String) -> SpeculativeError {
            .vocabularyMismatch(draft: "\(draftName) (\(d.vocabularySize) tokens)",
                                teacher: "\(teacherName) (\(t.vocabularySize) tokens)", detail: detail)
        }
        if d.tokens == t.tokens {
            teacherIDs = (0..<Int32(d.vocabularySize)).map { $0 }
            draftIDs = teacherIDs
            isIdentity = true
            return
        }
        guard let ids = recorded else {
            throw mismatch("the vocabularies differ and the draft model records no teacher token ids")
        }
        if let size = recordedSize, size != t.vocabularySize {
            throw mismatch("it was cut from a vocabulary of \(size) tokens")
        }
        guard ids.count == d.vocabularySize else {
            throw mismatch("it records \(ids.count) teacher ids for \(d.vocabularySize) tokens")
        }
        var back = [Int32](repeating: -1, count: t.vocabularySize)
        for (draftID, teacherID) in ids.enumerated() where teacherID >= 0 {
            guard Int(teacherID) < t.vocabularySize else {
                throw mismatch("token \(draftID) maps to teacher id \(teacherID), past the teacher's vocabulary")
            }
            guard d.tokenBytes(Int32(draftID)) == t.tokenBytes(teacherID),
                  d.isControl(Int32(draftID)) == t.isControl(teacherID) else {
                throw mismatch("token \(draftID) (\(d.tokens[draftID])) is teacher token \(teacherID) (\(t.tokens[Int(teacherID)])) by its map, but they differ")
            }
            back[Int(teacherID)] = Int32(draftID)
        }
        teacherIDs = ids
        draftIDs = back
        isIdentity = false
    }

    /// The teacher id of every draft token, -1 where the teacher lacks it.
    public var teacherIDsOfDraftTokens: [Int32] { teacherIDs }

    /// The teacher's id of a draft token; nil where the teacher lacks it.
    @inline(__always)
    public func teacherID(_ draftID: Int32) -> Int32? {
        guard draftID >= 0, Int(draftID) < teacherIDs.count else { return nil }
        let id = teacherIDs[Int(draftID)]
        return id < 0 ? nil : id
    }

    /// The draft model's id of a teacher token; nil where the draft vocabulary lacks it.
    @inline(__always)
    public func draftID(_ teacherID: Int32) -> Int32? {
        guard teacherID >= 0, Int(teacherID) < draftIDs.count else { return nil }
        let id = draftIDs[Int(teacherID)]
        return id < 0 ? nil : id
    }
}
