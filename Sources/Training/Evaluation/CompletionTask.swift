import Model

/// One line-completion case: a cursor inside a non-blank line; the rest of that line is the target.
public struct CompletionTask: Sendable, Equatable {
    /// Index of the file in the list the tasks were drawn from.
    public var file: Int
    /// UTF-8 offsets in the file: the line's start, the cursor, and the line's end (before "\r\n" or "\n").
    public var lineStart: Int
    public var cursor: Int
    public var lineEnd: Int
    /// The text from the cursor to the end of the line.
    public var target: String

    /// Draws up to `count` distinct cursor positions with a seeded generator, in (file, cursor) order.
    ///
    /// A position is a uniformly drawn non-blank line of all files (so larger files give more cases),
    /// then a uniformly drawn character column from the line's first to its last non-blank character:
    /// the target always holds at least one non-blank character. Files that are not valid UTF-8 are skipped.
    public static func sample(files: [[UInt8]], count: Int, seed: UInt64) -> [CompletionTask] {
        var lines: [(file: Int, start: Int, end: Int)] = []
        for (index, bytes) in files.enumerated() where String(validating: bytes, as: UTF8.self) != nil {
            var start = 0
            while start < bytes.count {
                let newline = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                var end = newline
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                if bytes[start..<end].contains(where: { !Self.isBlank($0) }) { lines.append((index, start, end)) }
                start = newline + 1
            }
        }
        guard !lines.isEmpty, count > 0 else { return [] }
        var rng = SplitMix64(seed: seed)
        var chosen: [CompletionTask] = []
        var seen = Set<[Int]>()
        var attempts = 0
        // Distinct positions; give up after many repeats when the data holds fewer positions than asked.
        while chosen.count < count && attempts < count * 20 {
            attempts += 1
            let line = lines[Int.random(in: 0..<lines.count, using: &rng)]
            let text = Array(String(decoding: files[line.file][line.start..<line.end], as: UTF8.self))
            guard let first = text.firstIndex(where: { !$0.isWhitespace }),
                  let last = text.lastIndex(where: { !$0.isWhitespace }) else { continue }
            let column = Int.random(in: first...last, using: &rng)
            let cursor = line.start + String(text[..<column]).utf8.count
            guard seen.insert([line.file, cursor]).inserted else { continue }
            chosen.append(CompletionTask(file: line.file, lineStart: line.start, cursor: cursor, lineEnd: line.end,
                                         target: String(text[column...])))
        }
        return chosen.sorted { ($0.file, $0.cursor) < ($1.file, $1.cursor) }
    }

    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C }
}
