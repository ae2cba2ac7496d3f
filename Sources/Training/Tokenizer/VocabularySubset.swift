import Model

/// A student vocabulary cut from a teacher's: the teacher's special and byte tokens, then the tokens a
/// corpus uses most, each with the merges that build it, then the FIM markers the teacher lacks.
///
/// Student ids follow the kept teacher ids in ascending order, then the added tokens; `teacherTokenIDs`
/// records the mapping. Merges keep the teacher's rank order, only those whose parts and result are all
/// kept. On text whose teacher encoding (intermediate merge products included) stays inside the subset,
/// the student makes the teacher's exact choices: each pair the teacher merges is still a rule, ranked
/// the same relative to the others, and the student has no rule the teacher lacks. Other text falls back
/// to shorter tokens, which still decode to the same bytes.
public struct VocabularySubset: Sendable {
    /// The student vocabulary, with `teacherTokenIDs` and `teacherVocabularySize` set.
    public let vocabulary: TokenizerMetadata
    /// Teacher tokens the counts saw at least once.
    public let distinctTokensSeen: Int
    /// All token occurrences counted.
    public let occurrences: Int
    /// Occurrences of teacher tokens the student keeps.
    public let coveredOccurrences: Int
    /// Tokens kept because of their own count.
    public let chosenByCount: Int
    /// Tokens kept only as a part of a merge that builds a chosen token.
    public let addedByClosure: Int
    /// The count of the last token chosen (the cut-off), nil if none was.
    public let smallestChosenCount: Int?
    /// Tokens the teacher lacks, appended at the end (FIM markers).
    public let addedTokens: [String]

    /// The FIM markers a student gets when its teacher has none, in the order they are appended.
    public static var fimTokens: [(field: WritableKeyPath<SpecialTokens, Int32?>, text: String)] { [
        (\.fimPrefix, "<fim_prefix>"), (\.fimMiddle, "<fim_middle>"), (\.fimSuffix, "<fim_suffix>"),
    ] }

    /// Share of the counted occurrences the student keeps as whole teacher tokens.
    public var coverage: Double { occurrences == 0 ? 1 : Double(coveredOccurrences) / Double(occurrences) }

    /// Selects at most `vocabularySize` tokens of `teacher`, ranked by `counts` (one per teacher token;
    /// ties go to the lower teacher id, so the result depends on nothing else). Tokens never counted are
    /// not chosen, so a small corpus gives a smaller student: their embeddings would never train.
    public init(teacher: TokenizerMetadata, counts: [Int], vocabularySize: Int) throws(VocabularySubsetError) {
        let n = teacher.tokens.count
        guard counts.count == n else { throw .countMismatch(counts: counts.count, tokens: n) }
        guard teacher.tokenTypes.count == n else { throw .tokenTypeMismatch(types: teacher.tokenTypes.count, tokens: n) }
        var idsByText: [String: Int] = [:]
        idsByText.reserveCapacity(n)
        for (id, text) in teacher.tokens.enumerated() where idsByText[text] == nil { idsByText[text] = id }

        // Each merge as ids, and for each token the lowest-rank merge that builds it: its closure.
        var rules: [(left: Int, right: Int, result: Int)] = []
        rules.reserveCapacity(teacher.merges.count)
        var parts = [(left: Int, right: Int)?](repeating: nil, count: n)
        for (rank, rule) in teacher.merges.enumerated() {
            guard let (left, right) = Self.split(rule), let l = idsByText[left], let r = idsByText[right],
                  let result = idsByText[left + right] else { throw .teacherMerge(rank: rank, merge: rule) }
            rules.append((l, r, result))
            if parts[result] == nil { parts[result] = (l, r) }
        }

        var kept = [Bool](repeating: false, count: n)
        var keptCount = 0
        func keep(_ id: Int) {
            if !kept[id] { kept[id] = true; keptCount += 1 }
        }
        // Specials (and any token a special id names), so the student can mark documents and turns.
        for (id, type) in teacher.tokenTypes.enumerated()
        where type != TokenType.normal.rawValue && type != TokenType.unused.rawValue { keep(id) }
        for (_, id) in teacher.specials.named where id >= 0 && Int(id) < n { keep(Int(id)) }
        // Every byte the teacher has, so any text stays encodable.
        for scalar in ByteLevelAlphabet.scalars {
            if let id = idsByText[String(scalar)] { keep(id) }
        }
        let added = Self.fimTokens.filter { teacher.specials[keyPath: $0.field] == nil }
        let budget = vocabularySize - added.count
        guard keptCount <= budget else {
            throw .vocabularyTooSmall(requested: vocabularySize, needed: keptCount + added.count)
        }

        let order = (0..<n).filter { counts[$0] > 0 }
            .sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        var chosen = 0, closure = 0
        var smallest: Int?
        var pending: [Int] = [], stack: [Int] = []
        var visited = [Int](repeating: -1, count: n)   // stamped with the candidate being expanded
        for id in order where !kept[id] {
            pending.removeAll(keepingCapacity: true)
            stack = [id]
            while let t = stack.popLast() {
                if kept[t] || visited[t] == id { continue }
                visited[t] = id
                pending.append(t)
                if let p = parts[t] { stack += [p.left, p.right] }
            }
            if keptCount + pending.count > budget { break }
            for t in pending { keep(t) }
            chosen += 1
            closure += pending.count - 1
            smallest = counts[id]
        }

        let keptIDs = (0..<n).filter { kept[$0] }
        var studentID = [Int32](repeating: -1, count: n)
        for (s, t) in keptIDs.enumerated() { studentID[t] = Int32(s) }
        var tokens = keptIDs.map { teacher.tokens[$0] }
        var types = keptIDs.map { teacher.tokenTypes[$0] }
        let merges = zip(teacher.merges, rules)
            .filter { kept[$0.1.left] && kept[$0.1.right] && kept[$0.1.result] }.map(\.0)
        var specials = SpecialTokens()
        let fields: [WritableKeyPath<SpecialTokens, Int32?>] = [
            \.endOfText, \.fimPrefix, \.fimSuffix, \.fimMiddle, \.fimPad, \.repoName, \.fileSeparator, \.fileName,
        ]
        for field in fields {
            if let id = teacher.specials[keyPath: field], id >= 0, Int(id) < n { specials[keyPath: field] = studentID[Int(id)] }
        }
        let keptTexts = Set(tokens)
        for (field, text) in added {
            guard !keptTexts.contains(text) else { throw .addedTokenExists(text) }
            specials[keyPath: field] = Int32(tokens.count)
            tokens.append(text)
            types.append(TokenType.control.rawValue)
        }

        vocabulary = TokenizerMetadata(
            tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: teacher.preTokenizer, specials: specials,
            teacherTokenIDs: keptIDs.map { Int32($0) } + [Int32](repeating: -1, count: added.count),
            teacherVocabularySize: n)
        distinctTokensSeen = order.count
        occurrences = counts.reduce(0, +)
        coveredOccurrences = keptIDs.reduce(0) { $0 + counts[$1] }
        chosenByCount = chosen
        addedByClosure = closure
        smallestChosenCount = smallest
        addedTokens = added.map(\.text)
    }

    /// A merge rule's two parts, split like `BPETokenizer` does: at the first space after the first byte.
    static func split(_ rule: String) -> (String, String)? {
        let utf8 = rule.utf8
        guard utf8.count >= 3,
              let space = utf8[utf8.index(after: utf8.startIndex)...].firstIndex(of: UInt8(ascii: " ")) else { return nil }
        return (String(rule[..<space]), String(rule[utf8.index(after: space)...]))
    }
}
