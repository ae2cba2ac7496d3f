/// The non-neural baseline: the most frequent continuation of the typed part of the line elsewhere in the file.
///
/// Precisely: let `typed` be the cursor's line from its first non-blank character up to the cursor.
/// Every other line of the file (the target line itself excluded) whose text, after its leading white
/// space, starts with `typed` contributes its remainder after `typed`, trailing white space trimmed.
/// The answer is the remainder that occurs most often; ties go to the one that occurs first in the
/// file. With no such line the answer is empty. When `typed` is empty every other line matches, so the
/// answer is the file's most frequent line (often "}").
public enum FrequentContinuation {
    /// The baseline's completion for `task` in `file`.
    public static func complete(_ task: CompletionTask, in file: [UInt8]) -> String {
        let lineText = String(decoding: file[task.lineStart..<task.cursor], as: UTF8.self)
        let typed = String(lineText.drop(while: { $0.isWhitespace }))
        var counts: [String: Int] = [:]
        var firstSeen: [String: Int] = [:]
        var start = 0, order = 0
        while start < file.count {
            let newline = file[start...].firstIndex(of: 0x0A) ?? file.count
            defer { start = newline + 1 }
            if start == task.lineStart { continue }
            let line = String(decoding: file[start..<newline], as: UTF8.self).drop(while: { $0.isWhitespace })
            guard line.hasPrefix(typed) else { continue }
            let rest = CompletionMetrics.trimmingTrailingWhitespace(String(line.dropFirst(typed.count)))
            counts[rest, default: 0] += 1
            if firstSeen[rest] == nil { firstSeen[rest] = order; order += 1 }
        }
        return counts.max { a, b in a.value != b.value ? a.value < b.value : firstSeen[a.key]! > firstSeen[b.key]! }?.key ?? ""
    }
}
