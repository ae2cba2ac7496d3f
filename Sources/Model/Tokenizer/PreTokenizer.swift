/// Splits text into pre-tokens exactly as llama.cpp does for a `tokenizer.ggml.pre` name.
///
/// Two llama.cpp pre-types are implemented, both built on GPT-2's regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`:
/// - "gpt-2": that regex alone;
/// - "starcoder" (also "refact", "smollm", "codeshell"): first every \p{N} code point is cut out on
///   its own, then the regex runs inside the text between digits. This is the one we train with:
///   indentation stays one whitespace run (its last space joins the next word) and numbers cannot
///   grow arbitrary multi-digit tokens.
/// Differences from llama.cpp, by design: an invalid UTF-8 byte becomes its own pre-token (llama.cpp
/// replaces it with U+FFFD, so it cannot round-trip), and it cuts the text like a digit does.
public struct PreTokenizer: Sendable, Equatable {
    /// The `tokenizer.ggml.pre` name this splitter was made for.
    public let name: String
    /// Whether every \p{N} code point is a pre-token of its own (the StarCoder family).
    public let splitsDigits: Bool

    /// Names accepted for `tokenizer.ggml.pre`.
    public static let supportedNames = ["gpt-2", "starcoder", "refact", "smollm", "codeshell"]

    /// Looks up a llama.cpp pre-tokenizer by its GGUF name.
    public init(name: String) throws(TokenizerError) {
        switch name {
        case "gpt-2": splitsDigits = false
        case "starcoder", "refact", "smollm", "codeshell": splitsDigits = true
        default: throw .unknownPreTokenizer(name)
        }
        self.name = name
    }

    /// The pre-tokens of `bytes`, as byte ranges that tile the input in order.
    public func pieces(_ bytes: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in
            split(buffer) { start, end in result.append(start..<end) }
        }
        return result
    }

    /// Calls `body(start, end)` for each pre-token of `bytes`, in order; the ranges tile the input.
    public func split(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        // One entry per code point (or invalid byte): where it starts and how the regex sees it.
        var starts: [Int] = []
        var classes: [CodepointClass] = []
        starts.reserveCapacity(bytes.count + 1)
        classes.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            starts.append(index)
            if byte < 0x80 {
                classes.append(CodepointClass.ascii[Int(byte)])
                index += 1
            } else if let (value, length) = UTF8Scalar.decode(bytes, at: index) {
                classes.append(CodepointClass.of(value))
                index += length
            } else {
                classes.append(.invalidByte)
                index += 1
            }
        }
        starts.append(bytes.count)

        let matcher = GPT2Matcher(bytes: bytes, starts: starts, classes: classes)
        var segmentStart = 0
        for unit in 0..<classes.count {
            let kind = classes[unit]
            if kind == .invalidByte || (splitsDigits && kind == .number) {
                matcher.run(segmentStart, unit, body)
                body(starts[unit], starts[unit + 1])
                segmentStart = unit + 1
            }
        }
        matcher.run(segmentStart, classes.count, body)
    }
}

/// llama.cpp's hand-written matcher for the GPT-2 regex, run on one segment of code points.
private struct GPT2Matcher {
    let bytes: UnsafeBufferPointer<UInt8>
    let starts: [Int]
    let classes: [CodepointClass]

    /// Splits code points `lower..<upper`; positions outside the segment read as "nothing".
    func run(_ lower: Int, _ upper: Int, _ emit: (Int, Int) -> Void) {
        @inline(__always) func kind(_ unit: Int) -> CodepointClass? { unit < upper ? classes[unit] : nil }
        // Only ASCII values are ever compared, and a non-ASCII lead byte never equals one.
        @inline(__always) func lead(_ unit: Int) -> UInt8 { bytes[starts[unit]] }
        let space = UInt8(ascii: " "), apostrophe = UInt8(ascii: "'")

        var pos = lower
        func cut(_ end: Int) {
            emit(starts[pos], starts[end])
            pos = end
        }
        while pos < upper {
            let first = lead(pos)
            // 's|'t|'re|'ve|'m|'ll|'d
            if first == apostrophe && pos + 1 < upper {
                let next = lead(pos + 1)
                if next == UInt8(ascii: "s") || next == UInt8(ascii: "t")
                    || next == UInt8(ascii: "m") || next == UInt8(ascii: "d") {
                    cut(pos + 2)
                    continue
                }
                if pos + 2 < upper {
                    let third = lead(pos + 2)
                    if (next == UInt8(ascii: "r") && third == UInt8(ascii: "e"))
                        || (next == UInt8(ascii: "v") && third == UInt8(ascii: "e"))
                        || (next == UInt8(ascii: "l") && third == UInt8(ascii: "l")) {
                        cut(pos + 3)
                        continue
                    }
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+`: one optional space, then a run of one class.
            let leadingSpace = first == space
            let runKind = leadingSpace ? kind(pos + 1) : classes[pos]
            if let runKind, runKind != .whitespace {
                var end = pos + (leadingSpace ? 1 : 0)
                while kind(end) == runKind { end += 1 }
                cut(end)
                continue
            }
            // `\s+(?!\S)` leaves the last space of a run to prefix the next word; `\s+` takes the rest.
            var spaces = 0
            while kind(pos + spaces) == .whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < upper {
                cut(pos + spaces - 1)
            } else if spaces > 0 {
                cut(pos + spaces)
            } else {
                cut(pos + 1)
            }
        }
    }
}
