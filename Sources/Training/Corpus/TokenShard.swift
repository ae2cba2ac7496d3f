import Foundation

/// A file of tokenized documents that keeps each document's text too (see README.md for the layout).
///
/// The tokens serve plain windows without any tokenizing; the text serves the fill-in-the-middle
/// transform, which must split a document by characters and tokenize the pieces separately.
/// The file is memory-mapped; only the two offset tables are copied into arrays.
public final class TokenShard: @unchecked Sendable {
    // Immutable after init; `data` is a read-only mapping.
    static let magic: [UInt8] = Array("USTSHARD".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 48

    public let path: String
    public let vocabularySize: Int
    public let endOfText: Int32
    /// Bytes per stored token: 2 when the vocabulary fits 16 bits, else 4.
    public let tokenWidth: Int
    /// Document i owns tokens `tokenOffsets[i]..<tokenOffsets[i+1]` (its end-of-text token last).
    public let tokenOffsets: [Int]
    /// Document i's UTF-8 text is `textOffsets[i]..<textOffsets[i+1]` of the text area.
    public let textOffsets: [Int]
    private let data: Data
    private let tokenStart: Int
    private let textStart: Int

    /// Opens and checks a shard.
    public init(path: String) throws {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw CorpusError.unreadable(path: path)
        }
        self.path = path
        self.data = data
        guard data.count >= Self.headerBytes else {
            throw CorpusError.shardTruncated(path: path, needed: Self.headerBytes, size: data.count)
        }
        let found = [UInt8](data.prefix(8))
        guard found == Self.magic else { throw CorpusError.shardMagic(path: path, found: found) }
        func u32(_ offset: Int) -> UInt32 { data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }.littleEndian }
        func u64(_ offset: Int) -> UInt64 { data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }.littleEndian }
        guard u32(8) == Self.version else { throw CorpusError.shardVersion(path: path, found: u32(8), expected: Self.version) }
        tokenWidth = Int(u32(12))
        vocabularySize = Int(u32(16))
        endOfText = Int32(bitPattern: u32(20))
        guard tokenWidth == 2 || tokenWidth == 4 else {
            throw CorpusError.shardInconsistent(path: path, detail: "token width \(tokenWidth) (expected 2 or 4)")
        }
        guard u64(24) < 1 << 40, u64(32) < 1 << 40, u64(40) < 1 << 44 else {
            throw CorpusError.shardInconsistent(path: path, detail: "implausible counts in the header")
        }
        let documents = Int(u64(24)), tokens = Int(u64(32)), textBytes = Int(u64(40))
        let tablesStart = Self.headerBytes
        tokenStart = tablesStart + 2 * (documents + 1) * 8
        textStart = tokenStart + Self.padded(tokens * tokenWidth)
        let needed = textStart + textBytes
        guard data.count >= needed else { throw CorpusError.shardTruncated(path: path, needed: needed, size: data.count) }
        tokenOffsets = (0...documents).map { Int(u64(tablesStart + $0 * 8)) }
        textOffsets = (0...documents).map { Int(u64(tablesStart + (documents + 1 + $0) * 8)) }
        for i in 0..<documents where tokenOffsets[i] >= tokenOffsets[i + 1] || textOffsets[i] > textOffsets[i + 1] {
            throw CorpusError.shardInconsistent(path: path, detail: "document \(i) has decreasing offsets")
        }
        guard tokenOffsets.first == 0, tokenOffsets.last == tokens, textOffsets.first == 0, textOffsets.last == textBytes else {
            throw CorpusError.shardInconsistent(path: path, detail: "offset tables do not span the token and text areas")
        }
    }

    public var documentCount: Int { tokenOffsets.count - 1 }
    public var tokenCount: Int { tokenOffsets.last! }
    public var textByteCount: Int { textOffsets.last! }

    /// The token at a position of the shard's token stream.
    public func token(at index: Int) -> Int32 {
        precondition(index >= 0 && index < tokenCount, "token index \(index) outside 0..<\(tokenCount)")
        return data.withUnsafeBytes { raw in
            tokenWidth == 2
                ? Int32(raw.loadUnaligned(fromByteOffset: tokenStart + index * 2, as: UInt16.self).littleEndian)
                : Int32(bitPattern: raw.loadUnaligned(fromByteOffset: tokenStart + index * 4, as: UInt32.self).littleEndian)
        }
    }

    /// Tokens `range` of the stream.
    public func tokens(_ range: Range<Int>) -> [Int32] { range.map(token(at:)) }

    /// A document's tokens, its end-of-text token included.
    public func tokens(ofDocument i: Int) -> [Int32] { tokens(tokenOffsets[i]..<tokenOffsets[i + 1]) }

    /// A document's UTF-8 text.
    public func text(ofDocument i: Int) -> [UInt8] {
        [UInt8](data[(data.startIndex + textStart + textOffsets[i])..<(data.startIndex + textStart + textOffsets[i + 1])])
    }

    /// The document that owns a token position.
    public func document(containing index: Int) -> Int {
        // Largest i with tokenOffsets[i] <= index.
        var low = 0, high = documentCount - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if tokenOffsets[mid] <= index { low = mid } else { high = mid - 1 }
        }
        return low
    }

    static func padded(_ n: Int) -> Int { (n + 7) & ~7 }
}

/// Accumulates documents and writes a `TokenShard` file.
public struct TokenShardWriter {
    public let vocabularySize: Int
    public let endOfText: Int32
    private var tokens: [Int32] = []
    private var text: [UInt8] = []
    private var tokenOffsets: [Int] = [0]
    private var textOffsets: [Int] = [0]

    public init(vocabularySize: Int, endOfText: Int32) {
        self.vocabularySize = vocabularySize
        self.endOfText = endOfText
    }

    public var documentCount: Int { tokenOffsets.count - 1 }
    public var tokenCount: Int { tokens.count }

    /// Adds a document: its text and its tokens; the end-of-text token is appended here.
    public mutating func append(text documentText: [UInt8], tokens documentTokens: [Int32]) throws {
        if let bad = documentTokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw CorpusError.tokenOutOfRange(token: bad, vocabularySize: vocabularySize)
        }
        tokens += documentTokens
        tokens.append(endOfText)
        text += documentText
        tokenOffsets.append(tokens.count)
        textOffsets.append(text.count)
    }

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        let width = vocabularySize <= 65536 ? 2 : 4
        var out: [UInt8] = []
        out.reserveCapacity(TokenShard.headerBytes + 16 * tokenOffsets.count + tokens.count * width + text.count + 8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out += $0 } }
        out += TokenShard.magic
        u32(TokenShard.version)
        u32(UInt32(width))
        u32(UInt32(vocabularySize))
        u32(UInt32(bitPattern: endOfText))
        u64(documentCount)
        u64(tokens.count)
        u64(text.count)
        for offset in tokenOffsets { u64(offset) }
        for offset in textOffsets { u64(offset) }
        if width == 2 {
            for t in tokens { withUnsafeBytes(of: UInt16(t).littleEndian) { out += $0 } }
        } else {
            for t in tokens { u32(UInt32(bitPattern: t)) }
        }
        out += [UInt8](repeating: 0, count: TokenShard.padded(tokens.count * width) - tokens.count * width)
        out += text
        return out
    }

    /// Writes the shard through a temporary file and a rename, so a reader never sees half a shard.
    public func write(to path: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(serialized())) else {
            throw CorpusError.unwritable(path: temporary, detail: "could not create the file")
        }
        _ = try? FileManager.default.removeItem(atPath: path)
        do { try FileManager.default.moveItem(atPath: temporary, toPath: path) } catch {
            throw CorpusError.unwritable(path: path, detail: "\(error)")
        }
    }
}
