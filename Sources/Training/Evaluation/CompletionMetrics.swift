/// Exact match and edit similarity of a completion against its target, CodeXGLUE style.
///
/// Both compare the strings after trimming trailing white space, so a completion is not penalised
/// for a space or "\r" the target line happened to end with; distances count Swift Characters.
public enum CompletionMetrics {
    /// `text` without trailing spaces, tabs, carriage returns or other white space.
    public static func trimmingTrailingWhitespace(_ text: String) -> String {
        var end = text.endIndex
        while end > text.startIndex, text[text.index(before: end)].isWhitespace { end = text.index(before: end) }
        return String(text[..<end])
    }

    /// Whether the completion equals the target after trimming trailing white space.
    public static func exactMatch(_ completion: String, _ target: String) -> Bool {
        trimmingTrailingWhitespace(completion) == trimmingTrailingWhitespace(target)
    }

    /// 1 − Levenshtein(completion, target) / max(lengths), on trimmed strings; 1 when both are empty.
    public static func editSimilarity(_ completion: String, _ target: String) -> Double {
        let a = Array(trimmingTrailingWhitespace(completion)), b = Array(trimmingTrailingWhitespace(target))
        let longest = max(a.count, b.count)
        guard longest > 0 else { return 1 }
        return 1 - Double(levenshtein(a, b)) / Double(longest)
    }

    /// Insertions, deletions and substitutions needed to turn `a` into `b` (two-row dynamic programme).
    public static func levenshtein<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The value below which `fraction` of `values` lie (nearest-rank percentile); 0 for no values.
    public static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }
}
