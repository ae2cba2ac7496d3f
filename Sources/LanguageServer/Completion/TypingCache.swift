/// Remembers recent completions so that typing along a shown completion answers at once with the
/// rest of it, without the model.
///
/// An entry holds the exact text before and after the cursor it was computed for. A new request
/// hits when its text after the cursor is the same and its text before the cursor is the entry's
/// plus some characters that a candidate starts with (the user typed them), or the entry's minus
/// a few characters (the user deleted them, so they go back in front of the candidate).
///
/// With tiered completions an entry also says who wrote it: the draft model answers first, and the
/// model's answer for the same cursor replaces it when it comes.
public struct TypingCache: Sendable {
    struct Entry: Sendable {
        var uri: DocumentURI
        var prefix: [UInt8]
        var suffix: [UInt8]
        var candidates: [String]
        var multiLine: Bool
        var fromDraft: Bool
    }

    /// The rest of a cached answer.
    public struct Hit: Sendable, Equatable {
        public var candidates: [String]
        /// Whether the draft model wrote it (tiered completions' first answer), not the model.
        public var fromDraft: Bool
    }

    private var entries: [Entry] = []
    /// Entries kept; the oldest goes first.
    public let capacity: Int

    /// An empty cache of `capacity` entries.
    public init(capacity: Int = 16) { self.capacity = capacity }

    /// Stores the candidates computed for a cursor between `prefix` and `suffix`; the model's answer
    /// replaces the draft model's for the same cursor, never the other way round.
    public mutating func store(uri: DocumentURI, prefix: [UInt8], suffix: [UInt8], candidates: [String], multiLine: Bool,
                               fromDraft: Bool = false) {
        guard !candidates.isEmpty else { return }
        let sameCursor = { (entry: Entry) in entry.uri == uri && entry.prefix == prefix && entry.suffix == suffix }
        if fromDraft && entries.contains(where: { sameCursor($0) && !$0.fromDraft }) { return }
        entries.removeAll(where: sameCursor)
        entries.append(Entry(uri: uri, prefix: prefix, suffix: suffix, candidates: candidates, multiLine: multiLine,
                             fromDraft: fromDraft))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// The rest of the cached candidates for this cursor, newest entry first; nil on a miss.
    /// `modelOnly` skips the draft model's answers.
    public func lookup(uri: DocumentURI, prefix: [UInt8], suffix: [UInt8], modelOnly: Bool = false) -> Hit? {
        for entry in entries.reversed() where entry.uri == uri && entry.suffix == suffix && !(modelOnly && entry.fromDraft) {
            if let rest = Self.continuation(of: entry, prefix: prefix) { return Hit(candidates: rest, fromDraft: entry.fromDraft) }
        }
        return nil
    }

    /// Forgets everything about `uri` (closed document).
    public mutating func remove(uri: DocumentURI) { entries.removeAll { $0.uri == uri } }

    /// Forgets everything (the model or settings changed).
    public mutating func removeAll() { entries.removeAll() }

    private static func continuation(of entry: Entry, prefix: [UInt8]) -> [String]? {
        if prefix.count >= entry.prefix.count {
            guard prefix.starts(with: entry.prefix) else { return nil }
            let typed = prefix[entry.prefix.count...]
            let rests = entry.candidates.compactMap { candidate -> String? in
                let bytes = Array(candidate.utf8)
                guard bytes.count > typed.count, bytes.starts(with: typed) else { return nil }
                let rest = bytes[typed.count...]
                // Never cut a character in two: the rest must start on a UTF-8 lead byte.
                guard let first = rest.first, first & 0xC0 != 0x80 else { return nil }
                return String(decoding: rest, as: UTF8.self)
            }
            return rests.isEmpty ? nil : rests
        }
        // Deleted characters: only within the current line, and only a few.
        guard entry.prefix.starts(with: prefix) else { return nil }
        let deleted = entry.prefix[prefix.count...]
        guard deleted.count <= 32, !deleted.contains(0x0A), deleted.first.map({ $0 & 0xC0 != 0x80 }) ?? false else { return nil }
        let restored = String(decoding: deleted, as: UTF8.self)
        return entry.candidates.map { restored + $0 }
    }
}
